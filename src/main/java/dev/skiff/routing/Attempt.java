package dev.skiff.routing;

/**
 * One upstream attempt of a request, as the usage record lists it: the target, how it ended
 * ({@code status} 0 when no response came) and why it was not the last ({@code error}: a
 * {@link Failure}'s id, null for the attempt that answered the client), and how long it took.
 */
public record Attempt(String provider, String model, int status, String error, double durationMs) {}
