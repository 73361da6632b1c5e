/**
 * What every admin resource behind the edge shares, whichever bundle serves it: the second permission check and
 * the audit record of each change ({@link dev.parley.web.rest.admin.AdminAudit}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.parley.web.rest.admin;
