package dev.skiff.store;

/**
 * A Responses API answer Skiff produced by translation, kept so a follow-up can name it with
 * {@code previous_response_id} and clients can read it back.
 *
 * @param owner      who made it and alone may read it: {@link ResponseStore#MASTER} for the master key,
 *                   null when Skiff serves openly; per-tenant keys get their own names
 * @param response   the response object as the client received it (JSON)
 * @param inputItems the input items of the request that produced it (JSON array): only its own, not
 *                   those of the responses it continues
 * @param previousId the response it continues ({@code previous_response_id}), or null
 */
public record StoredResponse(String id, String owner, long createdAt, String provider, String model, String response, String inputItems,
                             String previousId) {}
