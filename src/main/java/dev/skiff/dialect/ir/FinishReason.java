package dev.skiff.dialect.ir;

/** Why generation stopped, in OpenAI's vocabulary, which every dialect maps onto. */
public enum FinishReason {
    STOP("stop"), LENGTH("length"), TOOL_CALLS("tool_calls"), CONTENT_FILTER("content_filter");

    private final String openAi;

    FinishReason(String openAi) {
        this.openAi = openAi;
    }

    public String openAi() {
        return openAi;
    }
}
