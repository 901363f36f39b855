package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PassthroughTargetTest {
    static String problem(String uri) {
        PassthroughTarget t = PassthroughTarget.parse(uri);
        assertThat(t).isNotNull();
        return t.problem();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "/p/openai/files?purpose=batch",
            "/p/openai/chat/completions",
            "/p/openai",
            "/p/openai?x=1",
            "/p/openai/files/",
            "/p/openai/files/file-abc.jsonl",
            "/p/openai/a...b/.hidden/..x/x..",
            // an inference-profile ARN is encoded into one segment, its '/' included
            "/p/bedrock/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.anthropic.claude/converse",
            "/p/openai/files?after=../../x",  // the query is the provider's to read, not a path
            "/p/openai/caf%C3%A9",
            "/p/openai/100%25",
    })
    void ordinaryPathsPass(String uri) {
        assertThat(problem(uri)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "/p/openai/..",
            "/p/openai/../admin",
            "/p/openai/files/../../admin",
            "/p/openai/./files",
            "/p/openai/%2e%2e/admin",
            "/p/openai/%2E%2e/admin",
            "/p/openai/.%2e/admin",
            "/p/openai/..%2fadmin",
            "/p/openai/..%2Fadmin",
            "/p/openai/files%2f..%2fadmin",
            "/p/openai/..;/admin",
            "/p/openai/..;jsessionid=1/admin",
            "/p/azure/..",
            "/p/azure//evil.com/x",
            "/p/azure/x//y",
            "/p/openai/%2f%2fevil.com/x",
            "/p/openai/..\\admin",
            "/p/openai/a\\b",
            "/p/openai/..%5cadmin",
            "/p/openai/a%5Cb",
            "/p/openai/%252e%252e/admin",   // %2e%2e to a server that decodes once more
            "/p/openai/%c0%ae%c0%ae/admin", // an overlong '.', which a lax UTF-8 decoder reads as one
            "/p/openai/%zz",
            "/p/openai/%2",
            "/p/openai/a%00b",
            "/p/openai/a%0d%0ab",
            "/p/openai/%EF%BC%8E%EF%BC%8E/admin", // fullwidth '．．'
            "/p/openai/files#frag",
    })
    void ambiguousPathsAreRefused(String uri) {
        assertThat(problem(uri)).isNotNull();
    }

    @org.junit.jupiter.api.Test
    void theReasonSaysWhatWasFound() {
        assertThat(problem("/p/openai/..%2fadmin")).contains("'..'").contains("percent-decoded");
        assertThat(problem("/p/azure//evil.com/x")).contains("'//'");
        assertThat(problem("/p/openai/a%5cb")).contains("backslash");
    }
}
