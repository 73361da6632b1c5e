package dev.parley.registry;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;

import aQute.bnd.header.Attrs;
import aQute.bnd.header.OSGiHeader;
import aQute.bnd.header.Parameters;
import aQute.bnd.version.Version;
import aQute.bnd.version.VersionRange;
import dev.parley.api.plugin.PluginInfo;
import dev.parley.api.plugin.PluginType;

/** Reads and checks the manifest of a plugin jar. */
public final class PluginDescriptors {
    /** The header listing the permissions a plugin asks for (see {@link Permission}). */
    public static final String PERMISSIONS_HEADER = "Parley-Permissions";

    /** Plugin and publisher ids: lower case, digits, '.', '_' and '-'; at most 100 characters. */
    public static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");

    /** Guards against zip bombs while every entry is read to check it. */
    private static final long MAX_INFLATED_BYTES = 1L << 30;
    private static final String API_PACKAGE_PREFIX = "dev.parley.api";
    /** The permission kinds a plugin may declare ({@link Permission}). */
    public static final Set<String> PERMISSION_KINDS = Set.of("network", "secret", "file", "thread");
    private static final Set<String> FILE_ACTIONS = Set.of("read", "write");
    private static final String EXAMPLE = PluginInfo.HEADER
            + ": example.echo;type=tool;name=\"Echo\";description=\"...\";publisher=acme";

    private PluginDescriptors() {
    }

    /**
     * @throws RegistryException INVALID_PLUGIN with a reason a publisher can act on: not a jar, no manifest, no
     *                           Bundle-SymbolicName or Bundle-Version, no or malformed {@code Parley-Plugin} header
     *                           (id, type, publisher required; type one of {@code PluginType}), unknown permission
     *                           kind, or an Export-Package (plugins export nothing)
     */
    public static PluginDescriptor read(byte[] jar) {
        return describe(manifestOf(jar));
    }

    /** The descriptor of an already extracted manifest (e.g. of an installed bundle). */
    public static PluginDescriptor describe(Manifest manifest) {
        Attributes main = manifest.getMainAttributes();

        String manifestVersion = header(main, "Bundle-ManifestVersion");
        if (!"2".equals(manifestVersion)) {
            throw invalid("Bundle-ManifestVersion must be 2 (an OSGi R4+ bundle), found "
                    + (manifestVersion == null ? "none" : "'" + manifestVersion + "'"));
        }
        String bsnHeader = header(main, "Bundle-SymbolicName");
        if (bsnHeader == null) {
            throw invalid("the manifest has no Bundle-SymbolicName; a plugin is an OSGi bundle");
        }
        Parameters bsnClauses = OSGiHeader.parseHeader(bsnHeader);
        if (bsnClauses.size() != 1) {
            throw invalid("Bundle-SymbolicName '" + bsnHeader + "' must name exactly one symbolic name");
        }
        String symbolicName = clauseName(bsnClauses.keyList().get(0));

        String versionHeader = header(main, "Bundle-Version");
        if (versionHeader == null) {
            throw invalid("the manifest has no Bundle-Version; the plugin version is its Bundle-Version, e.g. 1.0.0");
        }
        String version = osgiVersion(versionHeader);

        String exports = header(main, "Export-Package");
        if (exports != null) {
            throw invalid("plugins must not export packages: found Export-Package " + exports
                    + " — keep the packages private (embed third-party libraries)");
        }
        if (header(main, "Fragment-Host") != null) {
            throw invalid("plugins must not be fragments: found Fragment-Host " + header(main, "Fragment-Host"));
        }

        String pluginHeader = header(main, PluginInfo.HEADER);
        if (pluginHeader == null) {
            throw invalid("the manifest has no " + PluginInfo.HEADER + " header; add e.g. " + EXAMPLE);
        }
        Parameters pluginClauses = OSGiHeader.parseHeader(pluginHeader);
        if (pluginClauses.size() != 1) {
            throw invalid(PluginInfo.HEADER + " header must describe exactly one plugin, found "
                    + pluginClauses.size() + ": " + pluginHeader);
        }
        String id = clauseName(pluginClauses.keyList().get(0));
        Attrs attrs = pluginClauses.values().iterator().next();
        if (!ID.matcher(id).matches()) {
            throw invalid(PluginInfo.HEADER + " id '" + id + "' is not valid: use 1-100 characters of a-z, 0-9, "
                    + "'.', '_' or '-', starting with a letter or digit");
        }
        String type = attrs.get("type");
        if (type == null || type.isBlank()) {
            throw invalid(PluginInfo.HEADER + " header has no type; add type=<" + typeNames() + ">");
        }
        if (!isType(type)) {
            throw invalid(PluginInfo.HEADER + " type '" + type + "' is unknown; use one of " + typeNames());
        }
        String publisher = attrs.get("publisher");
        if (publisher == null || publisher.isBlank()) {
            throw invalid(PluginInfo.HEADER + " header has no publisher; add publisher=<your publisher id>");
        }
        if (!ID.matcher(publisher).matches()) {
            throw invalid(PluginInfo.HEADER + " publisher '" + publisher + "' is not a valid publisher id: use 1-100 "
                    + "characters of a-z, 0-9, '.', '_' or '-'");
        }
        String name = attrs.get("name");
        String displayName = name == null || name.isBlank() ? id : name.trim();
        String description = attrs.get("description") == null ? "" : attrs.get("description").trim();

        Map<String, String> imports = imports(header(main, "Import-Package"));
        Map<String, String> apiImports = new LinkedHashMap<>();
        imports.forEach((pkg, range) -> {
            if (pkg.equals(API_PACKAGE_PREFIX) || pkg.startsWith(API_PACKAGE_PREFIX + ".")) {
                apiImports.put(pkg, range);
            }
        });

        return new PluginDescriptor(id, version, symbolicName, type, displayName, description, publisher,
                Collections.unmodifiableMap(imports), Collections.unmodifiableMap(apiImports), apiRange(apiImports),
                List.copyOf(permissions(header(main, PERMISSIONS_HEADER))));
    }

    /**
     * The canonical form of an OSGi version ({@code 1.0} → {@code 1.0.0}), so {@code 1.0} and {@code 1.0.0} are one
     * version.
     *
     * @throws RegistryException INVALID_PLUGIN if {@code version} is not an OSGi version
     */
    public static String osgiVersion(String version) {
        String v = version == null ? "" : version.trim();
        if (Version.isVersion(v)) {
            try {
                return new Version(v).toString();
            } catch (IllegalArgumentException e) {
                // e.g. a major part beyond int: reported below like any other malformed version
            }
        }
        throw invalid("Bundle-Version '" + version + "' is not an OSGi version (major.minor.micro.qualifier, e.g. 1.2.0)");
    }

    private static Manifest manifestOf(byte[] jar) {
        if (jar == null || jar.length < 4 || jar[0] != 'P' || jar[1] != 'K' || jar[2] != 3 || jar[3] != 4) {
            throw invalid("not a jar: the upload is not a zip archive (" + (jar == null ? 0 : jar.length) + " bytes)");
        }
        Manifest manifest = null;
        int entries = 0;
        long inflated = 0;
        byte[] buffer = new byte[8192];
        // Read every entry to the end: that checks each entry's CRC, so a truncated or corrupt jar is refused now
        // rather than failing when the framework installs it.
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(jar))) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                entries++;
                if (JarFile.MANIFEST_NAME.equalsIgnoreCase(entry.getName())) {
                    if (manifest != null) {
                        throw invalid("not a jar: it has more than one " + JarFile.MANIFEST_NAME);
                    }
                    manifest = new Manifest(new NonClosing(zip));
                }
                int n;
                while ((n = zip.read(buffer)) >= 0) {
                    inflated += n;
                    if (inflated > MAX_INFLATED_BYTES) {
                        throw invalid("not a jar we accept: it inflates to more than " + MAX_INFLATED_BYTES + " bytes");
                    }
                }
            }
        } catch (ZipException e) {
            throw invalid("not a jar: the zip archive is corrupt (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw invalid("not a jar: the archive could not be read (" + e.getMessage() + ")", e);
        }
        if (entries == 0) {
            throw invalid("not a jar: the zip archive has no entries");
        }
        if (manifest == null) {
            throw invalid("the jar has no " + JarFile.MANIFEST_NAME + "; a plugin is an OSGi bundle with a manifest");
        }
        return manifest;
    }

    private static final int API_PREFIX_LENGTH = "dev.parley.api.".length();

    private static Map<String, String> imports(String header) {
        Map<String, String> imports = new LinkedHashMap<>();
        if (header == null) {
            return imports;
        }
        OSGiHeader.parseHeader(header).forEach((key, attrs) -> {
            if ("optional".equals(attrs.get("resolution:"))) {
                return;
            }
            String pkg = clauseName(key);
            String range = attrs.get("version");
            if (range == null) {
                range = attrs.get("specification-version");
            }
            range = range == null ? "" : range.trim();
            if (!range.isEmpty() && !VersionRange.isOSGiVersionRange(range)) {
                throw invalid("Import-Package " + pkg + " has version '" + range + "', which is not an OSGi version range");
            }
            imports.put(pkg, range);
        });
        return imports;
    }

    /**
     * One range when every API import asks for the same one, otherwise each package's range. API packages are
     * versioned one by one (a provider-type import may be bound to a minor version while others are not), so ranges
     * of different packages are never intersected: whether this Parley satisfies them is the resolver's question.
     */
    private static String apiRange(Map<String, String> apiImports) {
        var distinct = apiImports.values().stream().map(r -> new VersionRange(r.isEmpty() ? "0.0.0" : r).toString())
                .distinct().toList();
        if (distinct.size() <= 1) {
            return distinct.isEmpty() ? "" : distinct.get(0);
        }
        var parts = new ArrayList<String>();
        apiImports.forEach((pkg, r) -> parts.add(pkg.substring(API_PREFIX_LENGTH) + " "
                + new VersionRange(r.isEmpty() ? "0.0.0" : r)));
        return String.join(", ", parts);
    }

    private static List<Permission> permissions(String header) {
        List<Permission> permissions = new ArrayList<>();
        if (header == null) {
            return permissions;
        }
        OSGiHeader.parseHeader(header).forEach((key, attrs) -> {
            String kind = clauseName(key);
            if (!PERMISSION_KINDS.contains(kind)) {
                throw invalid(PERMISSIONS_HEADER + " has unknown permission kind '" + kind
                        + "'; use network, secret, file or thread");
            }
            String target = attrs.get("target");
            if (kind.equals("thread")) {
                // Threads of its own: optionally how many at most (the sandbox may hold it to that).
                String most = target == null ? "" : target.trim();
                if (!most.isEmpty() && !most.matches("[1-9][0-9]{0,5}")) {
                    throw invalid(PERMISSIONS_HEADER + " thread permission target '" + most + "' is not a number of "
                            + "threads; e.g. thread;target=4, or thread alone");
                }
                if (attrs.get("actions") != null && !attrs.get("actions").isBlank()) {
                    throw invalid(PERMISSIONS_HEADER + " thread permission takes no actions (found actions="
                            + attrs.get("actions").trim() + "); only file permissions have actions");
                }
                permissions.add(new Permission(kind, most, ""));
                return;
            }
            if (target == null || target.isBlank()) {
                throw invalid(PERMISSIONS_HEADER + " " + kind + " permission has no target; e.g. "
                        + switch (kind) {
                            case "network" -> "network;target=\"api.example.com:443\"";
                            case "secret" -> "secret;target=apiKey";
                            default -> "file;target=cache;actions=read";
                        });
            }
            String actions = attrs.get("actions") == null ? "" : attrs.get("actions").trim();
            if (!actions.isEmpty()) {
                if (!kind.equals("file")) {
                    throw invalid(PERMISSIONS_HEADER + " " + kind + " permission takes no actions (found actions="
                            + actions + "); only file permissions have actions");
                }
                for (String action : actions.split(",")) {
                    if (!FILE_ACTIONS.contains(action.trim())) {
                        throw invalid(PERMISSIONS_HEADER + " file permission has unknown action '" + action.trim()
                                + "'; use read and/or write");
                    }
                }
            }
            permissions.add(new Permission(kind, target.trim(), actions));
        });
        return permissions;
    }

    private static boolean isType(String type) {
        for (PluginType t : PluginType.values()) {
            if (t.name().toLowerCase(Locale.ROOT).equals(type)) {
                return true;
            }
        }
        return false;
    }

    private static String typeNames() {
        StringBuilder sb = new StringBuilder();
        for (PluginType t : PluginType.values()) {
            if (sb.length() > 0) {
                sb.append('|');
            }
            sb.append(t.name().toLowerCase(Locale.ROOT));
        }
        return sb.toString();
    }

    /** bnd marks repeated clause names with trailing '~'. */
    private static String clauseName(String key) {
        int end = key.length();
        while (end > 0 && key.charAt(end - 1) == '~') {
            end--;
        }
        return key.substring(0, end).trim();
    }

    private static String header(Attributes main, String name) {
        String value = main.getValue(name);
        return value == null || value.isBlank() ? null : value.trim();
    }

    private static RegistryException invalid(String message) {
        return new RegistryException(RegistryException.Reason.INVALID_PLUGIN, message);
    }

    private static RegistryException invalid(String message, Throwable cause) {
        return new RegistryException(RegistryException.Reason.INVALID_PLUGIN, message, cause);
    }

    /** Lets {@link Manifest} read one zip entry without closing the whole archive. */
    private static final class NonClosing extends java.io.FilterInputStream {
        NonClosing(InputStream in) {
            super(in);
        }

        @Override
        public void close() {
            // the zip stream stays open for the next entry
        }
    }
}
