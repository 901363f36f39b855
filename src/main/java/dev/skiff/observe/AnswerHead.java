package dev.skiff.observe;

/**
 * The head of an answer the server writes out without a Netty header map (its pre-encoded answers
 * and stream heads): what the audit log's tap records of it.
 */
public interface AnswerHead {
    int statusCode();

    /** The answer's headers as name, value, name, value... ({@code content-length} included where there is one). */
    String[] headerPairs();
}
