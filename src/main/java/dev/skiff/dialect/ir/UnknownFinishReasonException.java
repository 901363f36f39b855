package dev.skiff.dialect.ir;

/**
 * A provider ended generation for a reason no mapping knows. Reported to the client as an error
 * rather than passed off as a clean stop: the answer may be incomplete in a way nobody can tell.
 */
public final class UnknownFinishReasonException extends IllegalStateException {
    public UnknownFinishReasonException(String provider, String raw) {
        super(provider + " finished with an unknown reason '" + raw + "'");
    }
}
