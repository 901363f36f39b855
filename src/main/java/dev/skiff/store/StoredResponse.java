package dev.skiff.store;

/**
 * A Responses API answer Skiff produced by translation, kept so a follow-up can name it with
 * {@code previous_response_id} and clients can read it back.
 *
 * @param owner      who made it and alone may read it: {@link ResponseStore#MASTER} for the master key,
 *                   null when Skiff serves openly; per-tenant keys get their own names
 * @param response   the response object (JSON): as the client received it when {@code omitted} is 0,
 *                   else without the members that hold the API's defaults (the caller that wrote it
 *                   rebuilds the whole object; its output items are there as they are)
 * @param inputItems the input items of the request that produced it (JSON array): only its own, not
 *                   those of the responses it continues
 * @param previousId the response it continues ({@code previous_response_id}), or null
 * @param inputIds   the ids of its input items, references left out (they are not the items they
 *                   name), or null for the store to read them from {@code inputItems}
 * @param outputIds  the ids of its output items, or null for the store to read them from {@code response};
 *                   the caller has them at hand, where the store would have to parse the JSON again
 * @param omitted    the characters of the whole object that {@code response} leaves out (0: none), which
 *                   a reader of the whole object reserves memory for
 */
public record StoredResponse(String id, String owner, long createdAt, String provider, String model, String response, String inputItems,
                             String previousId, java.util.List<String> inputIds, java.util.List<String> outputIds, int omitted) {
    /** A response whose item ids the store reads from its JSON. */
    public StoredResponse(String id, String owner, long createdAt, String provider, String model, String response, String inputItems,
                          String previousId) {
        this(id, owner, createdAt, provider, model, response, inputItems, previousId, null, null, 0);
    }

    /** A response kept whole, its item ids given. */
    public StoredResponse(String id, String owner, long createdAt, String provider, String model, String response, String inputItems,
                          String previousId, java.util.List<String> inputIds, java.util.List<String> outputIds) {
        this(id, owner, createdAt, provider, model, response, inputItems, previousId, inputIds, outputIds, 0);
    }

    /** Whether {@code response} is the object as the client received it. */
    public boolean whole() {
        return omitted == 0;
    }
}
