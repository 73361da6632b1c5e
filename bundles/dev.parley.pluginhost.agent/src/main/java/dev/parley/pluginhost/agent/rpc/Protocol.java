package dev.parley.pluginhost.agent.rpc;

/**
 * The plugin-host RPC, version {@link #VERSION} (ADR 31). The server listens on loopback; the host connects and
 * speaks first. Version 2 added the plugin's configurations, token estimates and the providers' tenant properties.
 * Version 3 added the sandbox's configurations ({@value #SANDBOX_PID} and the factory configurations of
 * {@value #SANDBOX_TIER_PID}) among the {@code config} messages, which the host's sandbox hooks apply before the agent
 * starts the plugin, and the host's {@code plugin} report.
 *
 * <pre>
 * host   → server  hello     {v, secret, pid}                 the first frame, at most {@link #HELLO_MAX_BYTES}
 * server → host    welcome   {v}  | refused {reason}          refused closes the connection
 * server → host    config    {pid, factoryPid?, properties}   after welcome, one per configuration of the plugin's
 *                  …                                          PIDs and of the sandbox's; then again whenever one is
 *                                                            made or changed
 * server → host    configured {count}                         the end of the configurations sent after welcome: the
 *                                                            host starts the plugin once its sandbox hooks applied
 *                                                            the sandbox's configurations among them
 * host   → server  plugin    {state, error?, refusals: [..], refusedCalls: {rule: n}}
 *                                                            the plugin in the host: state waiting (for the
 *                                                            sandbox's configurations), active, failed (error: why it
 *                                                            did not start) or stopped; what the sandbox refused it
 *                                                            there; sent when it changes
 * server → host    configDeleted {pid}
 * host   → server  providers {providers: [{id, models: [..], properties: {..}}], embedders: [{id, models: [..],
 *                  properties: {..}}]}                        whenever a set, a model list or a property changes;
 *                                                            properties: the provider's parley.tenant and
 *                                                            parley.tenant.instance service properties, if set
 * server → host    ping      {seq}        host → server pong {seq}
 * server → host    stream    {rid, provider, whole, request}  whole: the caller wants the answer whole (complete())
 * host   → server  token     {rid, delta} | toolCallDelta {rid, index, id, name, args}
 *                  | answering {rid, provider, model}
 *                  | complete {rid, response} | error {rid, code, message, retryAfterMs}   exactly one of the last two
 * server → host    cancel    {rid}
 * server → host    embed     {rid, provider, request}
 * host   → server  embedded  {rid, response} | error {rid, ...}         vectors as base64 of little-endian float32
 * server → host    estimate  {rid, provider, model, messages}
 * host   → server  estimated {rid, tokens} | error {rid, ...}
 * </pre>
 *
 * Configuration properties are typed ({@link WireCodec#properties(java.util.Map)}) and bounded: at most
 * {@link WireCodec#MAX_PROPERTIES} per configuration and {@link #MAX_CONFIGURATIONS} per host; every message, like any
 * other, is at most the frame size the two ends agreed. A {@code plugin} report carries at most {@link #MAX_REFUSALS}
 * refusals of at most {@link #MAX_REFUSAL_CHARS} characters each.
 *
 * Every message is a JSON object with a {@code type}; unknown types are ignored by both ends, so a minor addition
 * does not break the other side; a change that would is a new {@code v}, and a server refuses a hello of a version
 * it does not speak.
 */
public final class Protocol {
    public static final int VERSION = 3;
    /** The sandbox hooks' own configuration (the rules of plugins in no tier), carried to the host. */
    public static final String SANDBOX_PID = "dev.parley.sandbox.hooks";
    /** The factory PID of the sandbox hooks' tiers, whose configurations are carried to the host. */
    public static final String SANDBOX_TIER_PID = "dev.parley.sandbox.hooks.tier";
    /** Most refusals a {@code plugin} report carries. */
    public static final int MAX_REFUSALS = 32;
    /** Longest refusal a {@code plugin} report carries (longer ones are cut). */
    public static final int MAX_REFUSAL_CHARS = 500;
    /** Most configurations a host takes for its plugin. */
    public static final int MAX_CONFIGURATIONS = 1024;
    /** The hello is small; nothing larger is read before the secret was checked. */
    public static final int HELLO_MAX_BYTES = 4096;
    /** Environment variable naming the host's configuration file (mode 600; it holds the secret). */
    public static final String CONFIG_ENV = "PARLEY_PLUGIN_HOST_CONFIG";
    /** Framework property of the host's framework naming the same file, for the agent. */
    public static final String CONFIG_PROPERTY = "parley.pluginhost.config";
    /** Framework property of the host's framework with the plugin bundle's location, which the agent starts. */
    public static final String PLUGIN_PROPERTY = "parley.pluginhost.plugin";

    /** The host's main class (on its class path with the Felix framework). */
    public static final String HOST_MAIN = "dev.parley.pluginhost.agent.launch.HostMain";
    /** Prefix of the host settings that become framework properties of the host (the sandbox hooks' input). */
    public static final String FRAMEWORK_PROPERTY_PREFIX = "fw.";

    public static final String HELLO = "hello";
    public static final String WELCOME = "welcome";
    public static final String REFUSED = "refused";
    public static final String PROVIDERS = "providers";
    public static final String PING = "ping";
    public static final String PONG = "pong";
    public static final String STREAM = "stream";
    public static final String TOKEN = "token";
    public static final String TOOL_CALL_DELTA = "toolCallDelta";
    public static final String ANSWERING = "answering";
    public static final String COMPLETE = "complete";
    public static final String ERROR = "error";
    public static final String CANCEL = "cancel";
    public static final String EMBED = "embed";
    public static final String EMBEDDED = "embedded";
    public static final String CONFIG = "config";
    public static final String CONFIGURED = "configured";
    public static final String CONFIG_DELETED = "configDeleted";
    public static final String ESTIMATE = "estimate";
    public static final String ESTIMATED = "estimated";
    public static final String PLUGIN = "plugin";

    private Protocol() {
    }
}
