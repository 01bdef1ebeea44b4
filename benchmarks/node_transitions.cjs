// The transitions workload on the Node.js interpreter aws-local-stepfunctions, for comparison.
// usage: node node_transitions.cjs NODE_MODULES_PARENT EXECUTIONS STATES  -> one JSON line
const { createRequire } = require("module");
const path = require("path");
const [dir, executions, states] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const { StateMachine } = createRequire(path.join(path.resolve(dir), "index.js"))("aws-local-stepfunctions");

function chain(n) {
  const s = {};
  for (let i = 0; i < n; i++) {
    const st = { Type: "Pass", Parameters: { i: i, "v.$": "$.v" }, ResultPath: "$.last" };
    if (i === n - 1) st.End = true; else st.Next = `S${i + 1}`;
    s[`S${i}`] = st;
  }
  return { StartAt: "S0", States: s };
}

async function main() {
  const machine = new StateMachine(chain(states));
  const t0 = process.hrtime.bigint();
  const runs = [];
  for (let k = 0; k < executions; k++) runs.push(machine.run({ v: k }).result);
  const results = await Promise.all(runs);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const ok = results.filter((r) => r && r.v !== undefined).length;
  const version = require(path.join(path.resolve(dir), "node_modules", "aws-local-stepfunctions", "package.json")).version;
  console.log(JSON.stringify({ name: "transitions.node", package: `aws-local-stepfunctions@${version}`, node: process.version,
    executions, states, succeeded: ok, n: executions * states, seconds, rate: Math.round((executions * states) / seconds * 10) / 10 }));
}
main();
