#!/usr/bin/env bash
# Validates statemachine/*.asl.json with asl-validator (npm), after replacing the
# `{"Fn::GetAtt": ["<logicalName>", "Arn"]}` objects with Lambda ARNs the way the
# serverless-step-functions plugin does at deploy time.
set -euo pipefail

ASL_VALIDATOR_VERSION="4.0.0"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="$repo_root/.tools/node"
validator="$tools/node_modules/.bin/asl-validator"

installed_version() {
  node -e 'try { process.stdout.write(require(process.argv[1]).version) } catch (e) {}' \
    "$tools/node_modules/asl-validator/package.json"
}

if [[ ! -x "$validator" || "$(installed_version)" != "$ASL_VALIDATOR_VERSION" ]]; then
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" "asl-validator@$ASL_VALIDATOR_VERSION" >&2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

status=0
shopt -s nullglob
files=("$repo_root"/statemachine/*.asl.json)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "no statemachine/*.asl.json files found" >&2
  exit 1
fi
for definition in "${files[@]}"; do
  resolved="$tmp/$(basename "$definition")"
  node - "$definition" "$resolved" <<'JS'
const fs = require("fs");
const [src, dst] = process.argv.slice(2);
const arn = (name) => `arn:aws:lambda:us-east-1:123456789012:function:sde-dev-${name}`;
const resolve = (v) => {
  if (Array.isArray(v)) return v.map(resolve);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "Fn::GetAtt") {
      const [name, attr] = v["Fn::GetAtt"];
      if (attr !== "Arn") throw new Error(`unsupported Fn::GetAtt attribute ${attr}`);
      return arn(name);
    }
    return Object.fromEntries(keys.map((k) => [k, resolve(v[k])]));
  }
  return v;
};
fs.writeFileSync(dst, JSON.stringify(resolve(JSON.parse(fs.readFileSync(src, "utf8"))), null, 2));
JS
  echo "asl-validator $ASL_VALIDATOR_VERSION: ${definition#"$repo_root"/}"
  if ! "$validator" --json-path "$resolved"; then
    status=1
  fi
done
exit "$status"
