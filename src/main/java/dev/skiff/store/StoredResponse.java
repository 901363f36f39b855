package dev.skiff.store;

/**
 * A Responses API answer Skiff produced by translation, kept so a follow-up can name it with
 * {@code previous_response_id} and clients can read it back.
 *
 * @param response   the response object as the client received it (JSON)
 * @param inputItems the input items of the request that produced it (JSON array)
 * @param history    the items that came before them, from earlier responses of the chain (JSON array)
 */
public record StoredResponse(String id, long createdAt, String provider, String model, String response, String inputItems,
                             String history) {}
