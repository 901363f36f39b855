package dev.skiff.observe;

import io.netty.buffer.ByteBuf;

/**
 * A complete answer the server writes out in one message without a Netty header map (the server's
 * pre-encoded answers): what the audit log's tap needs of it, so that capturing responses does not
 * send answers down the slower header-map path.
 */
public interface WholeAnswer extends AnswerHead {
    /** The body, not consumed (the tap reads it before the answer is encoded). */
    ByteBuf content();
}
