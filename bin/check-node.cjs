// Which Node this program needs, checked before anything else is loaded: on an older Node
// the code itself fails in obscure ways (`Map.groupBy is not a function`, type stripping
// missing). Plain old JavaScript on purpose, so that any Node can run it.
// Used by bin/nblast-fanout.js (the CLI) and by `npm test` (the pretest script).
"use strict";

var REQUIRED = [22, 18, 0];

function parse(version) {
  var m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(String(version));
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

function isRecentEnough(version) {
  var v = parse(version);
  for (var i = 0; i < 3; i++) {
    if (v[i] !== REQUIRED[i]) return v[i] > REQUIRED[i];
  }
  return true;
}

/** The message for a Node that is too old, or null when this one will do. */
function nodeProblem(version, execPath) {
  if (isRecentEnough(version)) return null;
  return (
    "nblast-fanout needs Node.js " + REQUIRED.join(".") + " or newer (it runs its TypeScript with Node's type stripping " +
    "and uses Map.groupBy); this is Node " + String(version).replace(/^v/, "") + " (" + execPath + ").\n" +
    "Get Node 22: `nvm install 22 && nvm use 22` (https://github.com/nvm-sh/nvm), the installer or binaries of " +
    "https://nodejs.org/en/download, or your distribution's nodejs 22 package; then run this again with it first on PATH.\n"
  );
}

module.exports = { REQUIRED: REQUIRED.join("."), isRecentEnough: isRecentEnough, nodeProblem: nodeProblem };

// Run directly (npm's pretest): exit 1 with the message on an old Node.
if (require.main === module) {
  var problem = nodeProblem(process.version, process.execPath);
  if (problem !== null) {
    process.stderr.write(problem);
    process.exit(1);
  }
}
