// Reads a JSON array of Istio objects on stdin and prints one line per object: "ok <kind>/<name>" or
// "error <kind>/<name> <path> <message>" for each schema error (validators compiled from Istio's CRD schemas by
// @kubernetes-models/istio). Exit code 0 when every object is valid, 1 otherwise, 2 for an unknown kind.
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(0, "utf8"));
let status = 0;
for (const o of objects) {
  const [group, version] = String(o.apiVersion).split("/");
  const id = `${o.kind}/${o.metadata?.name}`;
  let Model;
  try {
    Model = (await import(`@kubernetes-models/istio/${group}/${version}/${o.kind}`))[o.kind];
  } catch (e) {
    console.log(`error ${id} - no Istio schema for ${o.apiVersion} ${o.kind}`);
    status = 2;
    continue;
  }
  try {
    new Model(o).validate();
    console.log(`ok ${id}`);
  } catch (e) {
    status = Math.max(status, 1);
    for (const err of e.errors ?? [{ instancePath: "", message: String(e) }]) {
      console.log(`error ${id} ${err.instancePath || "/"} ${err.message}`);
    }
  }
}
process.exit(status);
