package dev.parley.registry;

/** Reads and checks the manifest of a plugin jar. */
public final class PluginDescriptors {
    /** The header listing the permissions a plugin asks for (see {@link Permission}). */
    public static final String PERMISSIONS_HEADER = "Parley-Permissions";

    private PluginDescriptors() {
    }

    /**
     * @throws RegistryException INVALID_PLUGIN with a reason a publisher can act on: not a jar, no manifest, no
     *                           Bundle-SymbolicName or Bundle-Version, no or malformed {@code Parley-Plugin} header
     *                           (id, type, publisher required; type one of {@code PluginType}), unknown permission
     *                           kind, or an Export-Package (plugins export nothing)
     */
    public static PluginDescriptor read(byte[] jar) {
        throw new UnsupportedOperationException("TODO");
    }
}
