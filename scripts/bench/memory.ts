import { readFileSync } from 'node:fs'

/**
 * Peak resident memory of a child process, with its parts at the peak: the embedded engine's code
 * (the resident pages of its mapped library), the V8 heap (the child's own Prometheus gauge) and
 * everything else native (engine caches and buffers, Node, other libraries).
 */
export interface RssParts {
  peakMb: number
  engineCodeMb: number
  v8HeapMb: number
  otherNativeMb: number
}

const MB = 1024 * 1024

function statusKb(pid: number, key: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) * 1024
  } catch {
    return 0
  }
}

/** Resident bytes of the mappings whose file is the embedded engine (libchdb and its addon). */
function engineCodeBytes(pid: number): number {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8')
  } catch {
    return 0
  }
  let inEngine = false
  let bytes = 0
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inEngine = /chdb/i.test(line)
    else if (inEngine && line.startsWith('Rss:')) bytes += Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024
  }
  return bytes
}

async function v8HeapBytes(metricsUrl: string): Promise<number> {
  try {
    const text = await (await fetch(metricsUrl)).text()
    return Number(/^nudge_nodejs_heap_size_total_bytes\s+(\S+)/m.exec(text)?.[1] ?? 0)
  } catch {
    return 0
  }
}

/** Samples RSS every 100 ms and the V8 heap every second; `stop()` returns the peak and its parts. */
export function sampleRss(pid: number, metricsUrl: string): { stop: () => Promise<RssParts> } {
  let peak = 0
  let heapAtPeak = 0
  let heap = 0
  let engineAtPeak = 0
  const rssTimer = setInterval(() => {
    const rss = statusKb(pid, 'VmRSS')
    if (rss > peak) {
      peak = rss
      heapAtPeak = heap
      engineAtPeak = -1 // measured lazily: smaps is big to read every 100 ms
    }
  }, 100)
  const heapTimer = setInterval(() => {
    void v8HeapBytes(metricsUrl).then((h) => {
      heap = h
      if (engineAtPeak === -1) {
        heapAtPeak = Math.max(heapAtPeak, h)
        engineAtPeak = engineCodeBytes(pid)
      }
    })
  }, 1000)
  return {
    async stop() {
      clearInterval(rssTimer)
      clearInterval(heapTimer)
      const hwm = statusKb(pid, 'VmHWM')
      const peakBytes = Math.max(peak, hwm)
      const engine = engineAtPeak > 0 ? engineAtPeak : engineCodeBytes(pid)
      const v8 = heapAtPeak || (await v8HeapBytes(metricsUrl))
      return {
        peakMb: peakBytes / MB,
        engineCodeMb: engine / MB,
        v8HeapMb: v8 / MB,
        otherNativeMb: Math.max(0, peakBytes - engine - v8) / MB,
      }
    },
  }
}
