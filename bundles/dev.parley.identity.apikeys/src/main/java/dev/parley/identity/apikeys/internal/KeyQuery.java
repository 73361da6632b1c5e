package dev.parley.identity.apikeys.internal;

/**
 * Which keys of a tenant to list, newest first.
 *
 * @param owner   only this owner's keys; null for every owner
 * @param revoked only revoked ({@code true}) or only not revoked ({@code false}) keys; null for both
 * @param expired only expired ({@code true}) or only unexpired ({@code false}) keys; null for both
 */
record KeyQuery(String tenantId, String owner, Boolean revoked, Boolean expired, int offset, int limit) {
}
