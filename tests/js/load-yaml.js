#!/usr/bin/env node
// Parse one YAML file with js-yaml's `yaml.load`, as Serverless Devs 3 reads s.yaml
// (Serverless-Devs/toolkit packages/utils/src/get-yaml-content.ts), and print one JSON line:
//   {"jsYaml": "<version>", "data": <the document>}       exit 0
//   {"jsYaml": "<version>", "error": "<js-yaml's message>"} exit 1 (js-yaml refused the document)
// Usage: node load-yaml.js FILE   (exit 2 on a usage or read error, message on stderr)
'use strict';
const fs = require('fs');
const yaml = require('js-yaml');
const { version } = require('js-yaml/package.json');

function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write('usage: node load-yaml.js FILE\n');
    return 2;
  }
  let text;
  try {
    text = fs.readFileSync(argv[0], 'utf8');
  } catch (error) {
    process.stderr.write(`load-yaml: cannot read ${argv[0]}: ${error.message}\n`);
    return 2;
  }
  try {
    const data = yaml.load(text);
    process.stdout.write(JSON.stringify({ jsYaml: version, data: data === undefined ? null : data }) + '\n');
    return 0;
  } catch (error) {
    if (!(error instanceof yaml.YAMLException)) throw error;
    // error.message spans several lines (the reason, then a snippet); the first is the verdict.
    process.stdout.write(JSON.stringify({ jsYaml: version, error: error.message.split('\n')[0] }) + '\n');
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
