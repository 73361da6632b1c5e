// Validates CycloneDX 1.6 JSON documents against the specification's strict JSON schema, with the CycloneDX project's
// own library (npm @cyclonedx/cyclonedx-library, which carries the schemas; ajv does the validation).
// usage: node cyclonedx-validate.cjs <node_modules folder> <file>...   prints {file: null | [errors]}.
const path = require('path');
const { Validation, Spec } = require(path.join(process.argv[2], '@cyclonedx/cyclonedx-library'));
(async () => {
  const out = {};
  for (const f of process.argv.slice(3)) {
    const v = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
    const err = await v.validate(require('fs').readFileSync(f, 'utf8'));
    out[f] = err === null ? null : err;
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(2); });
