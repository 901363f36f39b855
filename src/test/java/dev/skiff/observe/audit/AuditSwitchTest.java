package dev.skiff.observe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.observe.Observers;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.UsageLog;
import dev.skiff.observe.UsageRecord;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit level changed while requests run: the log made when first needed, each request recorded at the level it began with. */
class AuditSwitchTest {
    @TempDir
    Path dir;

    private static final byte[] BODY = "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);

    static RequestTrail begin(Observers o) {
        RequestTrail t = o.begin(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions", Unpooled.wrappedBuffer(BODY)));
        if (t != null) t.clientWrite(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(BODY)));
        return t;
    }

    @Test
    void levelNamesAreThoseOfSkiffAudit() {
        assertThat(AuditConfig.parseLevel(" Bodies ")).isEqualTo(AuditConfig.Level.BODIES);
        assertThat(AuditConfig.parseLevel("meta")).isEqualTo(AuditConfig.Level.METADATA);
        assertThat(AuditConfig.parseLevel("off")).isEqualTo(AuditConfig.Level.OFF);
        assertThat(AuditConfig.parseLevel("verbose")).isNull();
    }

    @Test
    void offAtStartOpensNothingThenEachRequestIsRecordedAtItsLevel() throws Exception {
        UsageLog usage = UsageLog.open("off", null, null);
        Observers o = new Observers(usage);
        int[] opened = {0};
        AuditSwitch audit = new AuditSwitch(new AuditConfig(AuditConfig.Level.OFF, 1024, null, Duration.ofDays(30)), o, null, () -> {
            opened[0]++;
            return AuditStore.open(null, dir.resolve("skiff.db").toString());
        }).begin();
        try {
            assertThat(audit.log()).as("off at start: no log, no store").isNull();
            assertThat(opened[0]).isZero();
            assertThat(o.capturesResponses()).isFalse();
            assertThat(begin(o)).as("off: no trail, nothing captured").isNull();

            assertThat(audit.set(AuditConfig.Level.BODIES)).isEqualTo(AuditConfig.Level.OFF);
            assertThat(opened[0]).isEqualTo(1);
            RequestTrail bodies = begin(o);
            assertThat(bodies.audited()).isTrue();
            assertThat(bodies.auditsBodies()).isTrue();

            audit.set(AuditConfig.Level.METADATA);
            RequestTrail metadata = begin(o);
            assertThat(metadata.audited()).isTrue();
            assertThat(metadata.auditsBodies()).isFalse();
            assertThat(metadata.keepsBodies()).isFalse();

            assertThat(audit.set(AuditConfig.Level.OFF)).isEqualTo(AuditConfig.Level.METADATA);
            assertThat(begin(o)).isNull();
            // Requests that began before the level went off are recorded, at the levels they began with; one without a trail is not.
            o.finished(record("r-bodies"), bodies);
            o.finished(record("r-metadata"), metadata);
            o.finished(record("r-off"), null);
            audit.set(AuditConfig.Level.METADATA); // the log made once, not again
            assertThat(opened[0]).isEqualTo(1);
            o.finished(record("r-on"), null); // the record alone, now that it is on

            AuditStore store = audit.log().store();
            for (int i = 0; i < 100 && audit.log().written() < 3; i++) Thread.sleep(50);
            assertThat(audit.log().written()).isEqualTo(3);
            AuditRow b = store.find("r-bodies").get();
            assertThat(b.level()).isEqualTo("bodies");
            assertThat(AuditResource.detail(b).at("/client/request/body/json/model").asText()).isEqualTo("m");
            AuditRow m = store.find("r-metadata").get();
            assertThat(m.level()).isEqualTo("metadata");
            assertThat(AuditResource.detail(m).at("/client/request/body").isNull()).isTrue();
            assertThat(store.find("r-off").get()).isNull();
            assertThat(store.find("r-on").get().level()).isEqualTo("metadata");
        } finally {
            audit.close();
            usage.close();
        }
    }

    @Test
    void aTrailBegunWhileOffIsNotRecordedAndIsLetGo() throws Exception {
        UsageLog usage = UsageLog.open("off", null, null);
        Observers o = new Observers(usage);
        AuditSwitch audit = new AuditSwitch(new AuditConfig(AuditConfig.Level.METADATA, 1024, null, Duration.ofDays(30)), o, null,
                () -> AuditStore.open(null, dir.resolve("skiff.db").toString())).begin();
        try {
            assertThat(audit.log()).isNotNull();
            assertThat(o.capturesResponses()).isTrue();
            audit.set(AuditConfig.Level.OFF);
            assertThat(o.capturesResponses()).isFalse();
            o.finished(record("r-1"), null);
            audit.log().finished(record("r-2"), null);
            Thread.sleep(300);
            assertThat(audit.log().written()).isZero();
            assertThat(audit.log().store().find("r-1").get()).isNull();
        } finally {
            audit.close();
            usage.close();
        }
    }

    static UsageRecord record(String id) {
        return AuditStoreTest.record(System.currentTimeMillis(), id, "k1", "/a", "m", 200);
    }
}
