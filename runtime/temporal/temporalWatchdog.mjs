// The Temporal dev server's parent: it makes the server die with Nudge, however Nudge dies.
//
// Nudge runs the server in a process group of its own (a terminal's Ctrl-C must reach Nudge, which
// drains its worker first and stops the server last), so a kill of Nudge's group does not reach
// the server, and Node has no PR_SET_PDEATHSIG. Instead Nudge holds the write end of this
// process's stdin: the pipe closes when Nudge exits, is killed, or crashes — then this stops the
// server (SIGTERM, SIGKILL after 10 s) and exits with it. Being the server's parent, it knows
// exactly when the server has gone and never signals a pid that is no longer the server's.
//
// Usage: node temporalWatchdog.mjs <temporal-cli> <args…>; the server's pid is written to fd 3.
// Plain JavaScript so it starts without a TypeScript loader.
import { spawn } from 'node:child_process'
import { writeSync } from 'node:fs'

const [cli, ...args] = process.argv.slice(2)
const server = spawn(cli, args, { stdio: ['ignore', 'inherit', 'inherit'] })
let exited = false
let killTimer

const stop = () => {
  if (exited || killTimer) return
  server.kill('SIGTERM')
  killTimer = setTimeout(() => server.kill('SIGKILL'), 10_000)
}

server.once('spawn', () => {
  try {
    writeSync(3, `${JSON.stringify({ pid: server.pid })}\n`)
  } catch {
    // Started without the report pipe: nobody is asking.
  }
})
server.once('error', (err) => {
  process.stderr.write(`temporal watchdog: cannot start ${cli}: ${String(err)}\n`)
  process.exit(127)
})
server.once('exit', (code, signal) => {
  exited = true
  clearTimeout(killTimer)
  process.exit(code ?? (signal ? 1 : 0))
})

process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, stop)
