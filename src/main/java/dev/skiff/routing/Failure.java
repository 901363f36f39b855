package dev.skiff.routing;

/** Why an attempt did not answer the client, as far as retrying and failing over care. */
public enum Failure {
    /** No usable response: could not connect, or the connection broke before anything reached the client. */
    TRANSPORT("transport"),
    /** An upstream timeout: connect, first byte, idle or total. */
    TIMEOUT("timeout"),
    /** A stream that sent no answer within the first-token timeout. */
    FIRST_TOKEN_TIMEOUT("first_token_timeout"),
    /** An error status the configuration retries or fails over on. */
    STATUS("status"),
    /** The provider refused the request as longer than the model's context. */
    CONTEXT_LENGTH("context_length"),
    /** The provider does not know the model. */
    MODEL_NOT_FOUND("model_not_found"),
    /** The target's circuit is open: it was skipped without a call. */
    CIRCUIT_OPEN("circuit_open");

    private final String id;

    Failure(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** Whether it says something about the target's health (the breaker counts it). */
    public boolean countsAgainstTarget() {
        return this == TRANSPORT || this == TIMEOUT || this == FIRST_TOKEN_TIMEOUT || this == STATUS;
    }
}
