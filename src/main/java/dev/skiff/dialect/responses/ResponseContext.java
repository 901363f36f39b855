package dev.skiff.dialect.responses;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a Responses object says besides the answer itself: the id Skiff gave it, the model name the
 * client asked for, when it was created (epoch seconds) and the client's request, whose parameters the
 * object echoes back as the API does.
 *
 * @param request the client's request body; null echoes the API's defaults
 */
public record ResponseContext(String responseId, String clientModel, long createdAt, JsonNode request) {}
