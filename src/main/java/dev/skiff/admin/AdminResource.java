package dev.skiff.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One resource of the admin API, served at {@code /admin/v1/<name>} and below. {@link #handle} runs on
 * an admin thread, never on an event loop, so it may block on the database.
 */
public interface AdminResource {
    /** The first path segment after {@code /admin/v1/}, e.g. {@code keys}. */
    String name();

    /**
     * Answers a call. Refusals are thrown as {@link AdminException}; anything else thrown becomes a 500
     * that names it.
     */
    AdminReply handle(AdminRequest request) throws Exception;

    /**
     * This resource's part of the OpenAPI description: an object whose {@code paths} (full paths,
     * {@code /admin/v1/...}) and optional {@code components.schemas} are merged into the document.
     */
    ObjectNode openApi();
}
