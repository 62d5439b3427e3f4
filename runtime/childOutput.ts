import type { ChildProcess } from 'node:child_process'

/**
 * The last `keep` lines a child process printed (stdout and stderr), each also passed to `log`: what
 * a failed start quotes in its message. Shared by the Temporal dev server and the Kafka broker.
 */
export function keepOutput(child: ChildProcess, log?: (line: string) => void, keep = 40): string[] {
  const output: string[] = []
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      output.push(line)
      if (output.length > keep) output.shift()
      log?.(line)
    }
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  return output
}
