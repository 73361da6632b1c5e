package dev.parley.plugins.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.TenantDirectory;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.plugin.PluginInfo;
import dev.parley.api.routing.ModelAccess;
import dev.parley.api.routing.ModelRoutingAdmin;
import dev.parley.api.routing.ProviderView;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.Database;
import dev.parley.plugins.internal.TenantProviderStore.Instance;
import dev.parley.web.rest.admin.AdminAudit;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.osgi.framework.Bundle;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Provider instances a tenant owns: a tenant admin runs its own instance of a provider plugin (its own key, its own
 * models) next to the operator's (ADR 26). Each instance is a row of {@link TenantProviderStore}; every node applies
 * the rows as factory configurations of the plugin ({@code factoryPid~tenant.<tenant>.<name>}) carrying
 * {@value ChatModelProvider#TENANT_PROPERTY}, so core lets only that tenant use the instance, and a provider id
 * {@code <tenant>~<name>} no other tenant's instance or the operator can take. What a tenant may set is limited: the
 * plugin must be available to it, URL settings may only name the hosts the operator allows for the plugin
 * ({@link ProviderHosts}), and a tenant has at most {@code max} instances.
 */
@Component(service = TenantProviders.class, configurationPid = TenantProvidersConfig.PID)
@org.osgi.service.metatype.annotations.Designate(ocd = TenantProvidersConfig.class)
public final class TenantProviders {
    /** Names of instances: like tenant ids, short. */
    static final Pattern NAME = Pattern.compile("[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?");
    /** Marks the configurations this class owns, with the instance's name. */
    static final String INSTANCE_PROPERTY = "parley.tenant.instance";
    /** The service property most plugins register their provider id under. */
    static final String PROVIDER_ID_PROPERTY = "parley.provider.id";
    /** The Metatype attributes that name a provider instance: Parley sets them, a tenant never does. */
    static final Set<String> PROVIDER_ID_ATTRIBUTES = Set.of("providerId", "id");

    private static final Logger LOG = LoggerFactory.getLogger(TenantProviders.class);

    /** What the API shows of one instance; secrets by name only. */
    record View(String name, String tenant, String plugin, String pid, String providerId, Map<String, Object> settings,
            List<String> secrets, boolean running, List<String> models, Instant createdAt, Instant updatedAt,
            String updatedBy) {
    }

    /** A plugin the tenant may run instances of, with what it may set. */
    record Offer(String plugin, String name, String pid, Map<String, Object> schema, List<String> allowedHosts) {
    }

    private final TenantProviderStore store;
    private final PluginOperations plugins;
    private final PluginSettings settings;
    private final ConfigurationAdmin configAdmin;
    private volatile ProviderHosts hosts;
    private volatile int max;
    private final Clock clock = Clock.systemUTC();
    private final ReentrantLock lock = new ReentrantLock();
    private final ScheduledExecutorService reconciler;
    private ScheduledFuture<?> pass;
    private int intervalSeconds;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ModelAccess access;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile TenantDirectory tenants;

    @Activate
    public TenantProviders(TenantProvidersConfig config, @Reference Database database, @Reference SecretSealer sealer,
            @Reference PluginOperations plugins, @Reference MetaTypeService metaType,
            @Reference ConfigurationAdmin configAdmin) {
        // The table is migrated with the plugin state (PluginStateStore), which PluginOperations made before this.
        this.store = new TenantProviderStore(database, sealer);
        this.plugins = plugins;
        this.settings = new PluginSettings(metaType, configAdmin);
        this.configAdmin = configAdmin;
        this.hosts = hosts(config.hosts());
        this.max = Math.max(0, config.max());
        try {
            int rows = store.reseal();
            if (rows > 0) {
                LOG.info("tenant provider secrets sealed with the current master key instances={}", rows);
            }
        } catch (ParleyException e) {
            LOG.error("tenant provider secrets could not be sealed again: {}", e.getMessage());
        }
        this.reconciler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "parley-tenant-providers");
            t.setDaemon(true);
            return t;
        });
        schedule(Math.max(1, config.reconcileIntervalSeconds()));
    }

    /**
     * New settings apply in place: the component (and the REST resource bound to it) stays, so a settings change does
     * not take the API away while the REST whiteboard reloads.
     */
    @Modified
    synchronized void modified(TenantProvidersConfig config) {
        this.hosts = hosts(config.hosts());
        this.max = Math.max(0, config.max());
        int interval = Math.max(1, config.reconcileIntervalSeconds());
        if (interval != intervalSeconds) {
            pass.cancel(false);
            schedule(interval);
        }
        LOG.info("tenant providers configured max={} reconcileIntervalSeconds={}", max, interval);
    }

    private synchronized void schedule(int seconds) {
        intervalSeconds = seconds;
        pass = reconciler.scheduleWithFixedDelay(this::reconcileQuietly, 0, seconds, TimeUnit.SECONDS);
    }

    @Deactivate
    void deactivate() {
        reconciler.shutdownNow();
    }

    /** What runs now, from the router's view (model lists the plugin guard cached); no call into plugin code. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ModelRoutingAdmin routing;

    // --- operations -----------------------------------------------------------------------------------------------

    /**
     * The tenant {@code actor} acts on: its own, or (for the operator tenant's admins) the one it names, which must
     * exist.
     */
    String tenantFor(Principal actor, String requested) {
        TenantDirectory directory = tenants;
        return AdminAudit.tenantFor(actor, requested, Permission.MODELS_ADMIN, "providers",
                t -> t.length() <= 64 && (directory == null || directory.exists(t)));
    }

    int max() {
        return max;
    }

    List<View> list(String tenantId) {
        return store.of(tenantId).stream().map(this::view).toList();
    }

    View get(String tenantId, String name) {
        return view(store.get(tenantId, name(name)).orElseThrow(() -> notFound(name)));
    }

    /** The provider plugins on this node the tenant may run instances of. */
    List<Offer> offers(String tenantId) {
        List<Offer> out = new ArrayList<>();
        for (var e : new TreeMap<>(plugins.providerPlugins()).entrySet()) {
            if (!allowed(tenantId, e.getKey())) {
                continue;
            }
            List<String> pids = settings.factoryPids(e.getValue());
            if (pids.size() != 1) {
                continue;
            }
            ObjectClassDefinition ocd = settings.definition(e.getValue(), pids.get(0));
            if (ocd == null || providerIdAttributes(ocd).isEmpty()) {
                continue;
            }
            out.add(new Offer(e.getKey(), ocd.getName(), pids.get(0), settings.schema(ocd, PROVIDER_ID_ATTRIBUTES),
                    hosts.allowed(e.getKey())));
        }
        return out;
    }

    /**
     * Creates or replaces the tenant's instance {@code name}. Settings not named are the plugin's defaults; a secret
     * not named keeps its value (an empty string removes it).
     *
     * @return the instance, and whether it was created
     */
    Map.Entry<View, Boolean> put(String actor, String tenantId, String name, String pluginId, String pid,
            Map<String, Object> values) {
        String n = name(name);
        if (pluginId == null || pluginId.isBlank()) {
            throw ParleyException.invalid("plugin", "Name the provider plugin of the instance in 'plugin' "
                    + "(GET /api/v1/tenant/providers lists those you may use).");
        }
        String plugin = pluginId.strip();
        Bundle bundle = plugins.pluginBundle(plugin).orElseThrow(() -> new ParleyException(ErrorCode.NOT_FOUND,
                "No provider plugin '" + shorten(plugin) + "' runs here (GET /api/v1/tenant/providers lists those you "
                        + "may use).", null, null, "plugin"));
        if (!isProvider(bundle)) {
            throw ParleyException.invalid("plugin", "Plugin '" + plugin + "' is no provider plugin.");
        }
        if (!allowed(tenantId, plugin)) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "The operator does not make plugin '" + plugin
                    + "' available to tenant '" + tenantId + "'.");
        }
        List<String> pids = settings.factoryPids(bundle);
        String factoryPid = pid == null || pid.isBlank() ? pids.size() == 1 ? pids.get(0) : null : pid.strip();
        if (factoryPid == null || !pids.contains(factoryPid)) {
            throw ParleyException.invalid("pid", pids.isEmpty() ? "Plugin '" + plugin + "' declares no per-instance "
                    + "settings (no factory configuration), so it cannot run tenant instances."
                    : "Name one of the plugin's instance settings in 'pid': " + pids + ".");
        }
        ObjectClassDefinition ocd = settings.definition(bundle, factoryPid);
        if (ocd == null || providerIdAttributes(ocd).isEmpty()) {
            throw ParleyException.invalid("plugin", "Plugin '" + plugin + "' has no provider id setting ('providerId' "
                    + "or 'id'), so instances of it cannot run side by side; it cannot run tenant instances.");
        }
        Map<String, Object> given = values == null ? Map.of() : values;
        for (String key : given.keySet()) {
            if (PROVIDER_ID_ATTRIBUTES.contains(key)) {
                throw ParleyException.invalid("settings." + key, "Setting '" + key + "' is set by Parley: the instance "
                        + "runs as provider '" + Instance.providerId(tenantId, n) + "'.");
            }
        }
        Map<String, Object> converted = settings.validate(factoryPid, ocd, given);
        hosts.check(plugin, converted);
        lock.lock();
        try {
            var existing = store.get(tenantId, n);
            if (existing.isPresent() && !existing.get().pluginId().equals(plugin)) {
                throw new ParleyException(ErrorCode.CONFLICT, "Instance '" + n + "' runs plugin '"
                        + existing.get().pluginId() + "'; delete it first to run another plugin under that name.");
            }
            Map<String, Object> merged = new LinkedHashMap<>();
            existing.ifPresent(i -> i.settings().forEach((k, v) -> {
                if (TenantProviderStore.secret(k)) {
                    merged.put(k, v);
                }
            }));
            converted.forEach((k, v) -> {
                if (TenantProviderStore.secret(k) && "".equals(v)) {
                    merged.remove(k);
                } else {
                    merged.put(k, v instanceof Object[] array ? List.of(array) : arrayToList(v));
                }
            });
            Instant now = clock.instant();
            Instance next = new Instance(tenantId, n, plugin, factoryPid, merged,
                    existing.map(i -> i.generation() + 1).orElse(1L), existing.map(Instance::createdAt).orElse(now),
                    now, actor);
            store.put(next, existing.map(Instance::generation).orElse(0L), max);
            LOG.info("tenant provider {} tenant={} instance={} plugin={} by={}", existing.isPresent() ? "replaced"
                    : "created", tenantId, n, plugin, actor);
            apply(next);
            return Map.entry(view(next), existing.isEmpty());
        } finally {
            lock.unlock();
        }
    }

    boolean delete(String actor, String tenantId, String name) {
        String n = name(name);
        lock.lock();
        try {
            boolean removed = store.delete(tenantId, n);
            if (removed) {
                LOG.info("tenant provider deleted tenant={} instance={} by={}", tenantId, n, actor);
                reconcileQuietly();
            }
            return removed;
        } finally {
            lock.unlock();
        }
    }

    // --- reconciliation -------------------------------------------------------------------------------------------

    private void reconcileQuietly() {
        try {
            reconcile();
        } catch (RuntimeException e) {
            LOG.warn("event=tenant_providers_reconcile_failed reason=\"{}\"", e.getMessage());
        }
    }

    /** Brings this node's configurations in line with the table: applies every row, deletes what no row wants. */
    void reconcile() {
        lock.lock();
        try {
            Set<String> wanted = new HashSet<>();
            for (Instance i : store.all()) {
                wanted.add(apply(i));
            }
            Configuration[] found = configAdmin.listConfigurations("(" + INSTANCE_PROPERTY + "=*)");
            for (Configuration c : found == null ? new Configuration[0] : found) {
                if (!wanted.contains(c.getPid())) {
                    LOG.info("tenant provider configuration removed pid={}", c.getPid());
                    c.delete();
                }
            }
        } catch (IOException | InvalidSyntaxException e) {
            throw new ParleyException(ErrorCode.STORE_FAILURE, "tenant provider configurations could not be read", e);
        } finally {
            lock.unlock();
        }
    }

    /** @return the configuration's PID */
    private String apply(Instance i) {
        Dictionary<String, Object> props = new Hashtable<>();
        i.settings().forEach((k, v) -> props.put(k, v instanceof List<?> list
                && list.stream().allMatch(String.class::isInstance) ? list.toArray(new String[0]) : v));
        props.put(ChatModelProvider.TENANT_PROPERTY, i.tenantId());
        props.put(INSTANCE_PROPERTY, i.name());
        props.put(PROVIDER_ID_PROPERTY, i.providerId());
        for (String key : PROVIDER_ID_ATTRIBUTES) {
            props.put(key, i.providerId());
        }
        try {
            Configuration c = configAdmin.getFactoryConfiguration(i.factoryPid(), "tenant." + i.tenantId() + "."
                    + i.name(), "?");
            c.updateIfDifferent(props);
            return c.getPid();
        } catch (IOException e) {
            throw new ParleyException(ErrorCode.STORE_FAILURE, "the configuration of provider " + i.providerId()
                    + " could not be saved", e);
        }
    }

    /** A malformed list allows no host at all (and says so), rather than leaving the tenants' API out. */
    private static ProviderHosts hosts(String[] entries) {
        try {
            return ProviderHosts.parse(entries);
        } catch (IllegalArgumentException e) {
            LOG.error("event=tenant_provider_hosts_invalid hint=\"tenants may set no URL until it is fixed\" reason=\"{}\"",
                    e.getMessage());
            return ProviderHosts.parse(new String[0]);
        }
    }

    // --- helpers --------------------------------------------------------------------------------------------------

    private View view(Instance i) {
        Map<String, Object> shown = new TreeMap<>();
        List<String> secrets = new ArrayList<>();
        i.settings().forEach((k, v) -> {
            if (TenantProviderStore.secret(k)) {
                secrets.add(k);
            } else {
                shown.put(k, v);
            }
        });
        ProviderView provider = null;
        ModelRoutingAdmin r = routing;
        if (r != null) {
            provider = r.view().providers().stream().filter(p -> p.up() && p.id().equals(i.providerId())
                    && i.tenantId().equals(p.owner())).findFirst().orElse(null);
        }
        List<String> models = provider == null ? List.of()
                : provider.models().stream().map(m -> i.providerId() + "/" + m).toList();
        return new View(i.name(), i.tenantId(), i.pluginId(), i.factoryPid(), i.providerId(), shown,
                List.copyOf(secrets), provider != null, models, i.createdAt(), i.updatedAt(), i.updatedBy());
    }

    private boolean allowed(String tenantId, String pluginId) {
        ModelAccess a = access;
        return a == null || a.forTenant(tenantId).allowsPlugin(pluginId);
    }

    private static Set<String> providerIdAttributes(ObjectClassDefinition ocd) {
        Set<String> out = new HashSet<>();
        AttributeDefinition[] ads = ocd.getAttributeDefinitions(ObjectClassDefinition.ALL);
        for (AttributeDefinition ad : ads == null ? new AttributeDefinition[0] : ads) {
            if (PROVIDER_ID_ATTRIBUTES.contains(ad.getID())) {
                out.add(ad.getID());
            }
        }
        return out;
    }

    static boolean isProvider(Bundle bundle) {
        String header = bundle.getHeaders("").get(PluginInfo.HEADER);
        return header != null && header.replace(" ", "").contains(";type=provider");
    }

    private static Object arrayToList(Object v) {
        if (v instanceof int[] a) {
            return java.util.Arrays.stream(a).boxed().toList();
        }
        if (v instanceof long[] a) {
            return java.util.Arrays.stream(a).boxed().toList();
        }
        return v;
    }

    private static String name(String name) {
        String n = name == null ? "" : name.strip();
        if (!NAME.matcher(n).matches()) {
            throw ParleyException.invalid("name", "An instance name is 1-32 lowercase letters, digits or '-', starting "
                    + "and ending with a letter or digit; got '" + shorten(n) + "'.");
        }
        return n;
    }

    private static ParleyException notFound(String name) {
        return new ParleyException(ErrorCode.NOT_FOUND, "No provider instance '" + shorten(name) + "' in this tenant.");
    }

    static String shorten(String s) {
        return s == null ? "" : s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }
}
