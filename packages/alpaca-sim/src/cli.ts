#!/usr/bin/env node
// `node dist/cli.js --port … --minute-ms …`: the entry point other tools run (see README).
import './main.js';
