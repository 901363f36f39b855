package dev.skiff.config;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * Builds the {@link Config} from an optional YAML file ({@code SKIFF_CONFIG}, else {@code config.yaml}
 * when present) and the environment, which wins over the file. Provider variables use the names
 * other gateways' users already have: {@code OPENAI_API_KEY}, {@code OPENAI_BASE_URL}, and a suffix
 * for another instance of the same type ({@code OPENAI_EAST_API_KEY} is provider {@code openai-east}).
 */
public final class ConfigLoader {
    private static final List<String> PROVIDER_KEYS = List.of("API_KEY", "BASE_URL", "MODELS", "API_VERSION");
    /** Azure's GA data-plane inference version; newer ones are chosen with AZURE_API_VERSION. */
    static final String AZURE_DEFAULT_API_VERSION = "2024-10-21";
    /** {@code ${VAR}}, or {@code ${VAR:-default}}: the default (taken as written) when VAR is unset or empty, as in a shell. */
    private static final Pattern ENV_REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");
    /** The default bind address: loopback, so that a machine is not opened to its network by accident. */
    static final String DEFAULT_HOST = "127.0.0.1";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]*");

    private final Map<String, String> env;
    /** Variables the YAML file refers to: set on purpose, whatever their names look like. */
    private final Set<String> referenced = new HashSet<>();
    private final List<String> warnings = new ArrayList<>();
    /** How long a key answered 429 without Retry-After rests, unless its provider says otherwise. */
    private Duration keyCooldown = ProviderConfig.DEFAULT_KEY_COOLDOWN;

    private ConfigLoader(Map<String, String> env) {
        this.env = env;
    }

    /** Loads from the process environment and the working directory. */
    public static Config load() {
        return load(System.getenv(), Path.of("."));
    }

    public static Config load(Map<String, String> env, Path workingDir) {
        return new ConfigLoader(env).build(workingDir);
    }

    private Config build(Path workingDir) {
        Map<String, Object> yaml = readYaml(workingDir);
        refuseUnknownKeys(yaml);
        Map<String, Object> server = section(yaml, "server");
        Map<String, Object> timeouts = section(yaml, "timeouts");
        Timeouts defaults = Timeouts.defaults();

        String host = string("SKIFF_HOST", server, "host", "server.host", DEFAULT_HOST).strip();
        String portText = env.getOrDefault("PORT", null);
        int port = portText != null
                ? parsePort("PORT", portText)
                : parsePort("server.port / SKIFF_PORT", string("SKIFF_PORT", server, "port", "server.port", "8080"));
        int ioThreads = parsePositiveInt("SKIFF_IO_THREADS / server.io_threads",
                string("SKIFF_IO_THREADS", server, "io_threads", "server.io_threads",
                        String.valueOf(Runtime.getRuntime().availableProcessors())));
        String transport = string("SKIFF_TRANSPORT", server, "transport", "server.transport", "auto").toLowerCase(Locale.ROOT);
        if (!List.of("nio", "epoll", "auto").contains(transport)) {
            throw new ConfigException("SKIFF_TRANSPORT / server.transport", "'" + transport + "' must be nio, epoll or auto");
        }
        long maxBody = parseSize("SKIFF_MAX_BODY_BYTES / server.max_body_bytes",
                string("SKIFF_MAX_BODY_BYTES", server, "max_body_bytes", "server.max_body_bytes", "10MB"));
        String masterKey = masterKey(server);
        boolean allowOpen = parseBoolean("SKIFF_ALLOW_OPEN / server.allow_open",
                string("SKIFF_ALLOW_OPEN", server, "allow_open", "server.allow_open", "false"));
        if (masterKey == null && !allowOpen && !isLoopback(host)) {
            throw new ConfigException("SKIFF_MASTER_KEY", "not set, and the bind address (SKIFF_HOST / server.host) is " + host
                    + ", which other machines can reach: Skiff will not serve /v1/* there without a key. "
                    + "Set SKIFF_MASTER_KEY (clients send it as 'Authorization: Bearer' "
                    + "or 'x-api-key'), bind a loopback address (SKIFF_HOST=127.0.0.1), or set SKIFF_ALLOW_OPEN=true "
                    + "(server.allow_open) to serve openly on purpose, e.g. behind a proxy that authenticates");
        }
        if (masterKey != null && allowOpen) warnings.add("SKIFF_ALLOW_OPEN / server.allow_open has no effect: a master key is set");
        Duration readyTimeout = parseDuration("SKIFF_READY_TIMEOUT / server.ready_timeout",
                string("SKIFF_READY_TIMEOUT", server, "ready_timeout", "server.ready_timeout", "10s"));
        Duration headerTimeout = positive("SKIFF_HEADER_TIMEOUT / server.header_timeout",
                string("SKIFF_HEADER_TIMEOUT", server, "header_timeout", "server.header_timeout", "10s"));
        Duration keepAliveTimeout = positive("SKIFF_KEEPALIVE_TIMEOUT / server.keepalive_timeout",
                string("SKIFF_KEEPALIVE_TIMEOUT", server, "keepalive_timeout", "server.keepalive_timeout", "75s"));
        Duration drainTimeout = parseDuration("SKIFF_DRAIN_TIMEOUT / server.drain_timeout",
                string("SKIFF_DRAIN_TIMEOUT", server, "drain_timeout", "server.drain_timeout", "30s"));
        String maxConnText = string("SKIFF_MAX_CONNECTIONS", server, "max_connections", "server.max_connections", null);
        long openFiles = openFileLimit();
        int maxConnections = maxConnText == null ? defaultMaxConnections(openFiles)
                : parsePositiveInt("SKIFF_MAX_CONNECTIONS / server.max_connections", maxConnText);
        if (maxConnText != null && openFiles > 0 && maxConnections > connectionsFilesAllow(openFiles)) {
            warnings.add("SKIFF_MAX_CONNECTIONS / server.max_connections is " + maxConnections + ", more than the open-file limit ("
                    + openFiles + ", ulimit -n) leaves room for: past about " + connectionsFilesAllow(openFiles)
                    + " connections, accepting fails and pauses until some close");
        }

        Timeouts t = new Timeouts(
                duration("SKIFF_CONNECT_TIMEOUT", timeouts, "connect", defaults.connect()),
                duration("SKIFF_FIRST_BYTE_TIMEOUT", timeouts, "first_byte", defaults.firstByte()),
                duration("SKIFF_IDLE_TIMEOUT", timeouts, "idle", defaults.idle()),
                duration("SKIFF_TOTAL_TIMEOUT", timeouts, "total", defaults.total()));
        Duration refresh = parseDuration("SKIFF_MODELS_REFRESH / models_refresh",
                string("SKIFF_MODELS_REFRESH", yaml, "models_refresh", "models_refresh", "5m"));
        String usageLog = string("SKIFF_USAGE_LOG", yaml, "usage_log", "usage_log", "stdout");
        String ca = emptyToNull(string("SKIFF_TLS_CA_FILE", yaml, "tls_ca_file", "tls_ca_file", null));
        Path caFile = null;
        if (ca != null) {
            caFile = workingDir.resolve(ca);
            if (!Files.isReadable(caFile)) throw new ConfigException("SKIFF_TLS_CA_FILE / tls_ca_file", "'" + ca + "' is not a readable file");
        }

        long imageMax = parseSize("SKIFF_IMAGE_FETCH_MAX_BYTES / image_fetch_max_bytes",
                string("SKIFF_IMAGE_FETCH_MAX_BYTES", yaml, "image_fetch_max_bytes", "image_fetch_max_bytes", "5MB"));
        String imagePrivate = string("SKIFF_IMAGE_FETCH_PRIVATE", yaml, "image_fetch_private", "image_fetch_private", "deny")
                .strip().toLowerCase(Locale.ROOT);
        if (!imagePrivate.equals("allow") && !imagePrivate.equals("deny")) {
            throw new ConfigException("SKIFF_IMAGE_FETCH_PRIVATE / image_fetch_private", "'" + imagePrivate + "' must be allow or deny");
        }
        String database = string("SKIFF_DB", yaml, "database", "database", "data/skiff.db").strip();
        checkDatabase(database, workingDir);
        Duration responsesTtl = parseDuration("SKIFF_RESPONSES_TTL / responses_ttl",
                string("SKIFF_RESPONSES_TTL", yaml, "responses_ttl", "responses_ttl", "30d"));
        String memory = emptyToNull(string("SKIFF_TRANSLATION_MEMORY", server, "translation_memory", "server.translation_memory", null));
        long translationMemory = memory == null ? 0 : parseSize("SKIFF_TRANSLATION_MEMORY / server.translation_memory", memory);
        if (memory != null && translationMemory < 1 << 20) {
            throw new ConfigException("SKIFF_TRANSLATION_MEMORY / server.translation_memory", "'" + memory + "' is less than 1MB");
        }
        ControlConfig control = control(section(yaml, "control"), workingDir);
        String cooldown = string("SKIFF_KEY_COOLDOWN", yaml, "key_cooldown", "key_cooldown", null);
        keyCooldown = cooldown == null ? ProviderConfig.DEFAULT_KEY_COOLDOWN : positive("SKIFF_KEY_COOLDOWN / key_cooldown", cooldown);
        List<ProviderConfig> providers = providers(yaml);
        warnNearMisses();
        return new Config(host, port, ioThreads, transport, maxBody, masterKey, allowOpen, t, refresh, usageLog, caFile, imageMax,
                imagePrivate.equals("allow"), database, responsesTtl, readyTimeout, headerTimeout, keepAliveTimeout, maxConnections, drainTimeout,
                providers, warnings, translationMemory, control, RoutingSettings.read(env, section(yaml, "routing")));
    }

    /**
     * An empty key is a mistake (a secret that did not arrive), never a way to serve openly: it stops
     * start-up. Unset, Skiff serves openly, which {@link #build} allows only on loopback unless asked.
     */
    private String masterKey(Map<String, Object> server) {
        String fromEnv = env.get("SKIFF_MASTER_KEY");
        String setting = fromEnv != null ? "SKIFF_MASTER_KEY" : "server.master_key";
        String key = fromEnv != null ? fromEnv : scalar(server, "master_key", "server.master_key");
        if (key != null && key.isBlank()) {
            throw new ConfigException(setting, "is set but empty. Give it a key, or unset it to serve without one "
                    + "(allowed on a loopback address, or anywhere with SKIFF_ALLOW_OPEN=true)");
        }
        return key;
    }

    /** Decided without DNS (start-up waits for no network): loopback literals and {@code localhost}. */
    public static boolean isLoopback(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (h.equalsIgnoreCase("localhost")) return true;
        try {
            return InetAddress.ofLiteral(h).isLoopbackAddress();
        } catch (IllegalArgumentException notALiteral) {
            return false;
        }
    }

    private static boolean parseBoolean(String setting, String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new ConfigException(setting, "'" + text + "' must be true or false");
        };
    }

    // ---- names that are not settings -----------------------------------------------------------

    private ControlConfig control(Map<String, Object> control, Path workingDir) {
        ControlConfig d = ControlConfig.defaults();
        String databaseUrl = emptyToNull(string("SKIFF_DATABASE_URL", control, "database_url", "control.database_url", null));
        if (databaseUrl != null && !databaseUrl.startsWith("postgres://") && !databaseUrl.startsWith("postgresql://")
                && !databaseUrl.startsWith("jdbc:postgresql:")) {
            throw new ConfigException("SKIFF_DATABASE_URL / control.database_url", "'" + Redact.url(databaseUrl)
                    + "' is not a PostgreSQL URL (postgres://user@host:5432/db); leave it unset for the embedded SQLite file (SKIFF_DB)");
        }
        String redisUrl = emptyToNull(string("SKIFF_REDIS_URL", control, "redis_url", "control.redis_url", null));
        if (redisUrl != null && !redisUrl.startsWith("redis://") && !redisUrl.startsWith("rediss://")) {
            throw new ConfigException("SKIFF_REDIS_URL / control.redis_url", "'" + Redact.url(redisUrl) + "' is not a redis:// or rediss:// URL");
        }
        String prefix = string("SKIFF_REDIS_PREFIX", control, "redis_prefix", "control.redis_prefix", d.redisPrefix());
        String failure = string("SKIFF_LIMITS_FAILURE", control, "limits_failure", "control.limits_failure", "open").strip().toLowerCase(Locale.ROOT);
        if (!failure.equals("open") && !failure.equals("closed")) {
            throw new ConfigException("SKIFF_LIMITS_FAILURE / control.limits_failure", "'" + failure + "' must be open or closed");
        }
        String endUserHeader = string("SKIFF_END_USER_HEADER", control, "end_user_header", "control.end_user_header", d.endUserHeader()).strip();
        if (endUserHeader.isEmpty() || !endUserHeader.chars().allMatch(c -> c > 32 && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
            throw new ConfigException("SKIFF_END_USER_HEADER / control.end_user_header", "'" + endUserHeader + "' is not a header name");
        }
        String pricing = emptyToNull(string("SKIFF_PRICING_FILE", control, "pricing_file", "control.pricing_file", null));
        if (pricing != null && !Files.isReadable(workingDir.resolve(pricing))) {
            throw new ConfigException("SKIFF_PRICING_FILE / control.pricing_file", "'" + pricing + "' is not a readable file");
        }
        String usageStore = string("SKIFF_USAGE_STORE", control, "usage_store", "control.usage_store", "on").strip().toLowerCase(Locale.ROOT);
        if (!usageStore.equals("on") && !usageStore.equals("off")) {
            throw new ConfigException("SKIFF_USAGE_STORE / control.usage_store", "'" + usageStore + "' must be on or off");
        }
        String retention = string("SKIFF_USAGE_RETENTION", control, "usage_retention", "control.usage_retention", "90d").strip()
                .toLowerCase(Locale.ROOT);
        Duration usageRetention = retention.equals("off") || retention.equals("0") || retention.equals("forever") ? Duration.ZERO
                : parseDuration("SKIFF_USAGE_RETENTION / control.usage_retention", retention);
        return new ControlConfig(databaseUrl, redisUrl, prefix, failure.equals("open"), endUserHeader,
                pricing == null ? null : workingDir.resolve(pricing).toString(), usageStore.equals("on"), usageRetention);
    }

    private static void refuseUnknownKeys(Map<String, Object> yaml) {
        refuseUnknown(yaml, "", Names.YAML_KEYS.get(""));
        for (String s : List.of("server", "timeouts", "control")) {
            if (yaml.get(s) instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked") Map<String, Object> section = (Map<String, Object>) m;
                refuseUnknown(section, s + ".", Names.YAML_KEYS.get(s));
            }
        }
        if (yaml.get("providers") instanceof Map<?, ?> providers) {
            for (Map.Entry<?, ?> e : providers.entrySet()) {
                if (e.getValue() instanceof Map<?, ?> m) {
                    @SuppressWarnings("unchecked") Map<String, Object> p = (Map<String, Object>) m;
                    refuseUnknown(p, "providers." + e.getKey() + ".", Names.YAML_KEYS.get("providers.*"));
                }
            }
        }
    }

    private static void refuseUnknown(Map<String, Object> section, String path, List<String> known) {
        for (String key : Names.unknownKeys(section, known)) {
            String near = Names.closest(key, known);
            throw new ConfigException(path + key, "is not a setting" + (near != null ? "; did you mean " + path + near + "?"
                    : "; the settings here are " + String.join(", ", known)));
        }
    }

    /**
     * Variables with Skiff's prefixes that are no setting are ignored, so a typo ({@code OPENAI_KEY},
     * {@code SKIFF_MASTERKEY}) would silently leave its setting unset: say so at start-up.
     */
    private void warnNearMisses() {
        for (String var : new TreeSet<>(env.keySet())) {
            if (referenced.contains(var)) continue;
            if (var.startsWith("SKIFF_")) {
                if (Names.SKIFF_VARIABLES.contains(var)) continue;
                String near = Names.closest(var, Names.SKIFF_VARIABLES);
                warnings.add(var + " is not a Skiff setting and is ignored" + (near != null ? "; did you mean " + near + "?" : ""));
                continue;
            }
            for (ProviderType type : ProviderType.values()) {
                String prefix = type.envPrefix();
                if (!var.startsWith(prefix) || isProviderSetting(var, type)) continue;
                boolean underscore = var.startsWith(prefix + "_");
                String rest = var.substring(prefix.length() + (underscore ? 1 : 0));
                // OPENAIAPI_KEY: only the prefix's own underscore is missing.
                String near = !underscore && isProviderSetting(prefix + "_" + rest, type) ? prefix + "_" + rest
                        : Names.providerNearMiss(prefix, rest, providerKeys(type));
                if (near != null && !env.containsKey(near)) {
                    warnings.add(var + " is not a Skiff setting and is ignored; did you mean " + near + "?");
                }
            }
        }
    }

    private static List<String> providerKeys(ProviderType type) {
        return type == ProviderType.BEDROCK ? List.of("API_KEY", "BASE_URL", "MODELS", "API_VERSION", "REGION") : PROVIDER_KEYS;
    }

    /** Whether {@link #providers} reads {@code var} for {@code type}. */
    private static boolean isProviderSetting(String var, ProviderType type) {
        if (var.equals("BEDROCK_REGION") && type == ProviderType.BEDROCK) return true;
        String prefix = type.envPrefix() + "_";
        if (!var.startsWith(prefix)) return false;
        String rest = var.substring(prefix.length());
        if (NUMBERED_KEY.matcher(rest).matches()) return true;
        for (String key : PROVIDER_KEYS) {
            if (!rest.endsWith(key)) continue;
            String middle = rest.substring(0, rest.length() - key.length());
            if (middle.isEmpty() || middle.endsWith("_")) return true;
        }
        return false;
    }

    // ---- providers -------------------------------------------------------------------------

    /** Mutable while merging file and environment; frozen into a {@link ProviderConfig}. */
    private static final class Draft {
        final String name;
        ProviderType type;
        String apiKey, baseUrl, models, apiVersion;
        String origin; // the setting that introduced it, for error messages
        String baseUrlSetting; // where base_url came from, for error messages
        boolean keyWrittenEmpty; // the file gives api_key, and it came out empty (e.g. ${X:-} with X unset)
        List<String> fileKeys = List.of(); // the file's api_keys
        final java.util.TreeMap<Integer, String> numberedKeys = new java.util.TreeMap<>(); // <PREFIX>_API_KEY_<n>
        String keyCooldown, keyCooldownSetting;

        Draft(String name, String origin) {
            this.name = name;
            this.origin = origin;
        }
    }

    private List<ProviderConfig> providers(Map<String, Object> yaml) {
        Map<String, Draft> drafts = new LinkedHashMap<>();
        Map<String, Object> fromFile = section(yaml, "providers");
        for (Map.Entry<String, Object> e : fromFile.entrySet()) {
            String name = e.getKey();
            String where = "providers." + name;
            if (!(e.getValue() instanceof Map<?, ?> raw)) throw new ConfigException(where, "must be a mapping");
            @SuppressWarnings("unchecked") Map<String, Object> p = (Map<String, Object>) raw;
            Draft d = new Draft(name, where);
            String typeId = scalar(p, "type", where + ".type");
            if (typeId == null) typeId = name.contains("-") ? name.substring(0, name.indexOf('-')) : name;
            d.type = ProviderType.fromId(typeId.toLowerCase(Locale.ROOT)).orElseThrow(() -> new ConfigException(
                    where + ".type", "unknown provider type; known: " + knownTypes()));
            d.apiKey = scalar(p, "api_key", where + ".api_key");
            d.keyWrittenEmpty = d.apiKey != null && d.apiKey.isBlank();
            d.baseUrl = scalar(p, "base_url", where + ".base_url");
            d.baseUrlSetting = where + ".base_url";
            d.apiVersion = scalar(p, "api_version", where + ".api_version");
            Object keys = p.get("api_keys");
            if (keys instanceof List<?> list) {
                List<String> expanded = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    Object k = list.get(i);
                    if (k instanceof Map<?, ?> || k instanceof List<?>) throw new ConfigException(where + ".api_keys", "must be a list of keys");
                    if (k != null) expanded.add(expand(String.valueOf(k), where + ".api_keys[" + i + "]"));
                }
                d.fileKeys = expanded;
                if (d.apiKey == null && !expanded.isEmpty() && expanded.stream().allMatch(String::isBlank)) d.keyWrittenEmpty = true;
            } else if (keys != null) {
                throw new ConfigException(where + ".api_keys", "must be a list of keys ([key1, key2]); one key is api_key");
            }
            d.keyCooldown = scalar(p, "key_cooldown", where + ".key_cooldown");
            d.keyCooldownSetting = where + ".key_cooldown";
            Object models = p.get("models");
            if (models instanceof List<?> list) {
                d.models = String.join(",", list.stream().map(String::valueOf).toList());
            } else if (models != null) {
                d.models = expand(String.valueOf(models), where + ".models");
            }
            drafts.put(name, d);
        }

        for (Map.Entry<String, String> e : env.entrySet()) {
            String var = e.getKey();
            for (ProviderType type : ProviderType.values()) {
                String prefix = type.envPrefix() + "_";
                if (!var.startsWith(prefix)) continue;
                String rest = var.substring(prefix.length());
                Matcher numbered = NUMBERED_KEY.matcher(rest);
                if (numbered.matches()) { // OPENAI_API_KEY_2, OPENAI_EAST_API_KEY_3: more keys of a pool
                    String middle = numbered.group(1) == null ? "" : numbered.group(1);
                    String name = providerName(type, middle);
                    Draft d = drafts.computeIfAbsent(name, n -> new Draft(n, var));
                    if (d.type == null) d.type = type;
                    if (d.type != type) throw new ConfigException(var, "provider '" + name + "' is configured as type " + d.type.id());
                    d.numberedKeys.put(Integer.parseInt(numbered.group(2)), e.getValue());
                    continue;
                }
                for (String key : PROVIDER_KEYS) {
                    if (!rest.endsWith(key)) continue;
                    String middle = rest.substring(0, rest.length() - key.length());
                    if (!middle.isEmpty() && !middle.endsWith("_")) continue;
                    String name = providerName(type, middle);
                    Draft d = drafts.computeIfAbsent(name, n -> new Draft(n, var));
                    if (d.type == null) d.type = type;
                    if (d.type != type) throw new ConfigException(var, "provider '" + name + "' is configured as type " + d.type.id());
                    switch (key) {
                        case "API_KEY" -> {
                            d.apiKey = e.getValue();
                            d.keyWrittenEmpty &= e.getValue().isBlank();
                        }
                        case "BASE_URL" -> {
                            d.baseUrl = e.getValue();
                            d.baseUrlSetting = var;
                        }
                        case "API_VERSION" -> d.apiVersion = e.getValue();
                        default -> d.models = e.getValue();
                    }
                }
            }
        }

        // Gemini's key under the name Google's own tools read, when Skiff's name gives none.
        String google = emptyToNull(env.get("GOOGLE_API_KEY"));
        Draft gemini = drafts.get("gemini");
        if (google != null && (gemini == null || emptyToNull(gemini.apiKey) == null)) {
            Draft d = drafts.computeIfAbsent("gemini", n -> new Draft(n, "GOOGLE_API_KEY"));
            if (d.type == null) d.type = ProviderType.GEMINI;
            d.apiKey = google;
            d.keyWrittenEmpty = false;
        } else if (google != null && !google.equals(emptyToNull(env.get("GEMINI_API_KEY")))) {
            warnings.add("GOOGLE_API_KEY is set but not used: Gemini's key is GEMINI_API_KEY"
                    + (emptyToNull(env.get("GEMINI_API_KEY")) != null ? ", which wins" : " / providers.gemini.api_key"));
        }

        // Bedrock also comes from the standard AWS variables, as AWS's own tools read them.
        boolean awsKeys = emptyToNull(env.get("AWS_ACCESS_KEY_ID")) != null && emptyToNull(env.get("AWS_SECRET_ACCESS_KEY")) != null;
        if (awsKeys) drafts.computeIfAbsent("bedrock", n -> {
            Draft d = new Draft(n, "AWS_ACCESS_KEY_ID");
            d.type = ProviderType.BEDROCK;
            return d;
        });

        List<ProviderConfig> out = new ArrayList<>();
        for (Draft d : drafts.values()) {
            ProviderConfig p = freeze(d);
            if (p != null) out.add(p);
        }
        return out;
    }

    /** {@code OPENAI_EAST_}'s middle {@code EAST_} names provider {@code openai-east}; none names {@code openai}. */
    private static String providerName(ProviderType type, String middle) {
        return middle.isEmpty() ? type.id()
                : type.id() + "-" + middle.substring(0, middle.length() - 1).toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** {@code API_KEY_2} after a provider's prefix, with an instance's middle ({@code EAST_}) or none. */
    private static final Pattern NUMBERED_KEY = Pattern.compile("(.*_)?API_KEY_([1-9][0-9]{0,3})");

    /**
     * A provider's key pool: its key ({@code <PREFIX>_API_KEY}, else the file's {@code api_key}), then
     * the file's {@code api_keys}, then {@code <PREFIX>_API_KEY_<n>} by number; empty ones are left
     * out and a key given twice counts once.
     */
    private List<String> keyPool(Draft d) {
        java.util.LinkedHashSet<String> pool = new java.util.LinkedHashSet<>();
        if (emptyToNull(d.apiKey) != null) pool.add(d.apiKey.strip());
        for (String k : d.fileKeys) if (emptyToNull(k) != null) pool.add(k.strip());
        for (String k : d.numberedKeys.values()) if (emptyToNull(k) != null) pool.add(k.strip());
        return List.copyOf(pool);
    }

    private ProviderConfig freeze(Draft d) {
        String envBase = d.name.toUpperCase(Locale.ROOT).replace('-', '_');
        if (!NAME.matcher(d.name).matches()) {
            throw new ConfigException(d.origin, "provider name '" + d.name + "' must be lowercase letters, digits, '.', '_' or '-'");
        }
        List<String> keys = keyPool(d);
        String key = keys.isEmpty() ? null : keys.getFirst();
        String base = emptyToNull(d.baseUrl);
        // A listed provider whose key did not arrive is left out, so one file can list every provider
        // and each machine serves those it has keys for. (Bedrock may still sign with AWS keys.)
        if (key == null && d.keyWrittenEmpty && d.type.needsApiKey() && d.type != ProviderType.BEDROCK) {
            warnings.add("provider " + d.name + " is not configured: providers." + d.name + ".api_key is empty");
            return null;
        }
        Map<String, String> settings = new LinkedHashMap<>();
        if (d.type == ProviderType.BEDROCK) {
            String region = firstSet("BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION");
            settings.put("aws_region", region == null ? "us-east-1" : region);
            for (String v : List.of("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")) {
                String value = emptyToNull(env.get(v));
                if (value != null) settings.put(v.toLowerCase(Locale.ROOT), value);
            }
            if (key == null && !settings.containsKey("aws_secret_access_key") && (base != null || d.models != null)) {
                throw new ConfigException(d.origin, "provider '" + d.name + "' needs BEDROCK_API_KEY or AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY");
            }
            if (base == null && (key != null || settings.containsKey("aws_secret_access_key"))) {
                base = "https://bedrock-runtime." + settings.get("aws_region") + ".amazonaws.com";
            }
        }
        if (key == null && base == null) {
            if (d.models != null) throw new ConfigException(d.origin, "models are listed for provider '" + d.name
                    + "' but neither " + envBase + "_API_KEY nor " + envBase + "_BASE_URL is set");
            return null;
        }
        if (base == null) {
            base = d.type.defaultBaseUrl().orElseThrow(() -> new ConfigException(envBase + "_BASE_URL",
                    "required for provider '" + d.name + "' (a local server has no default address)"));
        }
        URI uri = parseBaseUrl(d.baseUrl != null && d.baseUrlSetting != null ? d.baseUrlSetting : envBase + "_BASE_URL", base);
        List<String> models = d.models == null ? List.of()
                : Arrays.stream(d.models.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        String apiVersion = emptyToNull(d.apiVersion);
        if (d.type == ProviderType.AZURE && apiVersion == null) apiVersion = AZURE_DEFAULT_API_VERSION;
        Duration cooldown = d.keyCooldown != null ? positive(d.keyCooldownSetting, d.keyCooldown) : keyCooldown;
        return new ProviderConfig(d.name, d.type, uri, key, models, d.type == ProviderType.AZURE ? apiVersion : null, settings, keys,
                cooldown);
    }

    private static URI parseBaseUrl(String setting, String given) {
        String text = Redact.url(given); // the messages below quote it; credentials in it must not be printed
        String trimmed = given.strip();
        while (trimmed.endsWith("/")) trimmed = trimmed.substring(0, trimmed.length() - 1);
        try {
            URI uri = new URI(trimmed);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new ConfigException(setting, "'" + text + "' must start with http:// or https://");
            }
            if (uri.getHost() == null) throw new ConfigException(setting, "'" + text + "' has no host");
            if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
                throw new ConfigException(setting, "'" + text + "' must not have a query or fragment");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new ConfigException(setting, "'" + text + "' is not a URL (" + e.getReason() + ")");
        }
    }

    private static String knownTypes() {
        return String.join(", ", Arrays.stream(ProviderType.values()).map(ProviderType::id).toList());
    }

    // ---- YAML ------------------------------------------------------------------------------

    private Map<String, Object> readYaml(Path workingDir) {
        String configured = emptyToNull(env.get("SKIFF_CONFIG"));
        Path file = configured != null ? workingDir.resolve(configured) : workingDir.resolve("config.yaml");
        if (!Files.exists(file)) {
            if (configured != null) throw new ConfigException("SKIFF_CONFIG", "file '" + configured + "' does not exist");
            return Map.of();
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException("SKIFF_CONFIG", "cannot read '" + file + "': " + e.getMessage());
        }
        Object root;
        try {
            root = new Load(LoadSettings.builder().setLabel(file.toString()).build()).loadFromString(text);
        } catch (RuntimeException e) {
            throw new ConfigException(file.toString(), "invalid YAML: " + e.getMessage());
        }
        Matcher refs = ENV_REF.matcher(text);
        while (refs.find()) referenced.add(refs.group(1));
        if (root == null) return Map.of();
        if (!(root instanceof Map<?, ?> map)) throw new ConfigException(file.toString(), "the top level must be a mapping");
        @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) map;
        return m;
    }

    private static Map<String, Object> section(Map<String, Object> yaml, String name) {
        Object v = yaml.get(name);
        if (v == null) return Map.of();
        if (!(v instanceof Map<?, ?> m)) throw new ConfigException(name, "must be a mapping");
        @SuppressWarnings("unchecked") Map<String, Object> s = (Map<String, Object>) m;
        return s;
    }

    private String scalar(Map<String, Object> map, String key, String where) {
        Object v = map.get(key);
        if (v == null) return null;
        if (v instanceof Map<?, ?> || v instanceof List<?>) throw new ConfigException(where, "must be a single value");
        return expand(String.valueOf(v), where);
    }

    /** {@code ${VAR}} in the file is replaced from the environment, so keys need not sit in it. */
    private String expand(String value, String where) {
        Matcher m = ENV_REF.matcher(value);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String v = env.get(m.group(1));
            if (m.group(2) != null && (v == null || v.isEmpty())) v = m.group(2);
            if (v == null) throw new ConfigException(where, "refers to ${" + m.group(1) + "}, which is not set (write ${"
                    + m.group(1) + ":-} if it may be unset, or ${" + m.group(1) + ":-default})");
            m.appendReplacement(sb, Matcher.quoteReplacement(v));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private String string(String envVar, Map<String, Object> section, String key, String where, String dflt) {
        String v = env.get(envVar);
        if (v != null) return v;
        v = scalar(section, key, where);
        return v != null ? v : dflt;
    }

    private Duration duration(String envVar, Map<String, Object> section, String key, Duration dflt) {
        String v = string(envVar, section, key, "timeouts." + key, null);
        return v == null ? dflt : parseDuration(envVar + " / timeouts." + key, v);
    }

    // ---- value parsing ---------------------------------------------------------------------

    static int parsePort(String setting, String text) {
        int p = parseInt(setting, text);
        if (p < 0 || p > 65535) throw new ConfigException(setting, "'" + text + "' is not a port (0-65535)");
        return p;
    }

    static int parsePositiveInt(String setting, String text) {
        int n = parseInt(setting, text);
        if (n < 1) throw new ConfigException(setting, "'" + text + "' must be at least 1");
        return n;
    }

    private static int parseInt(String setting, String text) {
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new ConfigException(setting, "'" + text + "' is not a whole number");
        }
    }

    private static final String DB_SETTING = "SKIFF_DB / database";
    private static final byte[] SQLITE_HEADER = "SQLite format 3\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /**
     * The store is opened at the first stored response, long after start-up: a path it cannot use
     * would then fail requests instead of start-up. So the path is checked here, with the file system
     * alone (loading SQLite would cost start-up time): an existing file must be an SQLite database
     * Skiff can write, in a folder it can write (SQLite puts its journal beside it); a new one needs a
     * folder that exists and is writable, or can be created.
     */
    static void checkDatabase(String database, Path workingDir) {
        if (database.isEmpty()) throw new ConfigException(DB_SETTING, "is empty; give a file path (default data/skiff.db) or :memory:");
        if (database.equals(":memory:")) return;
        Path file;
        try {
            file = workingDir.resolve(database).toAbsolutePath().normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new ConfigException(DB_SETTING, "'" + database + "' is not a valid path: " + e.getReason());
        }
        if (Files.isDirectory(file)) {
            throw new ConfigException(DB_SETTING, "'" + database + "' is a folder; give the database file's path, e.g. " + database + "/skiff.db");
        }
        if (Files.exists(file)) {
            if (!Files.isRegularFile(file)) throw new ConfigException(DB_SETTING, "'" + database + "' is not a regular file");
            if (!Files.isReadable(file) || !Files.isWritable(file)) {
                throw new ConfigException(DB_SETTING, "'" + database + "' cannot be read and written by this process");
            }
            try (var in = Files.newInputStream(file)) {
                byte[] head = in.readNBytes(SQLITE_HEADER.length);
                if (head.length > 0 && !java.util.Arrays.equals(head, SQLITE_HEADER)) {
                    throw new ConfigException(DB_SETTING, "'" + database + "' exists and is not an SQLite database");
                }
            } catch (java.io.IOException e) {
                throw new ConfigException(DB_SETTING, "cannot read '" + database + "': " + e.getMessage());
            }
        }
        Path folder = file.getParent();
        Path existing = folder;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null || !Files.isDirectory(existing)) {
            throw new ConfigException(DB_SETTING, "cannot create the folder of '" + database + "': "
                    + (existing == null ? "no part of it exists" : existing + " is a file, not a folder"));
        }
        if (!Files.isWritable(existing)) {
            throw new ConfigException(DB_SETTING, "'" + database + "' is not writable: " + existing + " cannot be written by this process");
        }
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");

    /** A duration that must be longer than zero. */
    private static Duration positive(String setting, String text) {
        Duration d = parseDuration(setting, text);
        if (d.isZero() || d.isNegative()) throw new ConfigException(setting, "'" + text + "' must be longer than zero");
        return d;
    }

    /**
     * 10,000, or fewer when the process may not open that many files: every client connection is
     * a descriptor and may hold an upstream one besides, and the listener, the database, the log and
     * the JVM need some of their own. -1 (unknown limit) leaves 10,000.
     */
    static int defaultMaxConnections(long openFileLimit) {
        if (openFileLimit <= 0) return 10_000;
        return (int) Math.min(10_000, connectionsFilesAllow(openFileLimit));
    }

    private static long connectionsFilesAllow(long openFileLimit) {
        return Math.max(16, (openFileLimit - 128) / 2);
    }

    /** The process's limit on open files, or -1 where the platform does not say. */
    static long openFileLimit() {
        // Linux says it in /proc/self/limits; asking the platform MXBean instead loads the JMX
        // machinery, tens of milliseconds of start-up for one number.
        long fromProc = openFileLimit(Path.of("/proc/self/limits"));
        if (fromProc != -1) return fromProc;
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return -1;
    }

    /**
     * The soft limit on open files from a {@code /proc/PID/limits} file ({@code Max open files  1024
     * 1048576  files}): {@link Long#MAX_VALUE} for unlimited, -1 when the file cannot be read or has no
     * such line.
     */
    static long openFileLimit(Path limits) {
        try {
            for (String line : Files.readAllLines(limits)) {
                if (!line.startsWith("Max open files")) continue;
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                if (f.length == 0) return -1;
                return f[0].equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(f[0]);
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: the caller asks the platform
        }
        return -1;
    }

    /** {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 30d}; a bare number is seconds. */
    public static Duration parseDuration(String setting, String text) {
        Matcher m = DURATION.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) throw new ConfigException(setting, "'" + text + "' is not a duration (like 500ms, 30s, 5m, 1h, 30d)");
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        Duration d = switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofSeconds(n);
        };
        if (d.isZero()) throw new ConfigException(setting, "must be longer than zero");
        return d;
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?");

    /** {@code 10MB}, {@code 512k}, or a number of bytes; units are binary (1 MB = 1024 KiB). */
    public static long parseSize(String setting, String text) {
        Matcher m = SIZE.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) throw new ConfigException(setting, "'" + text + "' is not a size (like 10MB, 512k, 1048576)");
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2);
        long bytes = switch (unit.charAt(0)) {
            case 'k' -> n << 10;
            case 'm' -> n << 20;
            case 'g' -> n << 30;
            default -> n;
        };
        if (bytes < 1 || bytes > Integer.MAX_VALUE) throw new ConfigException(setting, "'" + text + "' must be between 1 byte and 2 GB");
        return bytes;
    }

    private String firstSet(String... vars) {
        for (String v : vars) {
            String value = emptyToNull(env.get(v));
            if (value != null) return value;
        }
        return null;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
