import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { NotFoundError } from '../core/errors.js'
import { selectRows } from '../clickhouse/store.js'
import { type CompiledTemplate, compileTemplate } from './compileTemplate.js'
import { createLiquid, DEFAULT_LIMITS, type SandboxLimits } from './liquidEngine.js'
import { type RenderedMessage, TemplateRenderError, renderTemplate } from './renderTemplate.js'
import { type StoredTemplate, type TemplateDefinition, type TemplateInput, templateInput } from './templateSchema.js'

export const TEMPLATES_DIR = join(import.meta.dirname, 'templates')

/** Parts of the render context that cost a lookup: loaded for a send only if its template reads them. */
const CONTEXT_ROOTS = ['computed', 'recommendations', 'behavior'] as const
type ContextRoot = (typeof CONTEXT_ROOTS)[number]

/**
 * Templates: the built-in ones (`content/templates/<id>.liquid`, front matter for subject,
 * preheader, format, topic) and versions saved through the API (ClickHouse `templates`; the
 * highest version wins over a built-in of the same id). Everything is compiled once — on save, at
 * load, or when another process saved (polled) — so a send only renders.
 */
export class TemplateStore {
  private readonly current = new Map<string, { stored: StoredTemplate; compiled: CompiledTemplate; reads: Set<ContextRoot> }>()
  /** Subject overrides (experiment variants) parsed once, not per send. */
  private readonly subjects = new Map<string, CompiledTemplate['subject']>()
  private readonly engines: { html: ReturnType<typeof createLiquid>; text: ReturnType<typeof createLiquid> }
  private poller?: NodeJS.Timeout
  private seen = ''

  constructor(
    private readonly opts: {
      client?: ClickHouseClient
      dir?: string
      limits?: SandboxLimits
      now?: () => number
      log?: (msg: string, extra?: Record<string, unknown>) => void
    } = {},
  ) {
    const limits = opts.limits ?? DEFAULT_LIMITS
    this.engines = { html: createLiquid('html', limits), text: createLiquid('text', limits) }
    const dir = opts.dir ?? TEMPLATES_DIR
    for (const f of readdirSync(dir)
      .filter((x) => x.endsWith('.liquid'))
      .sort()) {
      const def = templateInput.parse(parseTemplateFile(f.slice(0, -'.liquid'.length), readFileSync(join(dir, f), 'utf8')))
      this.put({ definition: def, version: 0, builtIn: true, createdAt: 0 })
    }
  }

  private put(stored: StoredTemplate): CompiledTemplate {
    const compiled = compileTemplate(stored.definition, stored.version, this.engines)
    const d = stored.definition
    const text = `${d.subject} ${d.preheader ?? ''} ${d.body} ${d.text ?? ''}`
    const reads = new Set(CONTEXT_ROOTS.filter((root) => new RegExp(`\\b${root}\\b`).test(text)))
    this.current.set(d.id, { stored, compiled, reads })
    return compiled
  }

  /** Loads saved versions (the latest of each id). */
  async load(): Promise<void> {
    if (!this.opts.client) return
    const rows = await selectRows<{ id: string; v: number; def: string; at: string }>(
      this.opts.client,
      'SELECT id, max(version) AS v, argMax(definition, version) AS def, toString(argMax(created_at, version)) AS at FROM templates GROUP BY id',
    )
    for (const r of rows) {
      if ((this.current.get(r.id)?.stored.version ?? -1) >= Number(r.v)) continue
      try {
        this.put({
          definition: templateInput.parse(JSON.parse(r.def)),
          version: Number(r.v),
          builtIn: false,
          createdAt: Date.parse(`${r.at}Z`),
        })
      } catch (err) {
        this.opts.log?.('stored template does not compile; keeping the previous version', { id: r.id, err: String(err) })
      }
    }
  }

  /** Follows saves made by other processes. */
  start(pollMs = 1000): void {
    if (!this.opts.client || this.poller) return
    this.poller = setInterval(
      () => void this.poll().catch((err) => this.opts.log?.('template refresh failed', { err: String(err) })),
      pollMs,
    )
    this.poller.unref()
  }

  stop(): void {
    clearInterval(this.poller)
    this.poller = undefined
  }

  private async poll(): Promise<void> {
    const [row] = await selectRows<{ n: string; at: string }>(
      this.opts.client!,
      'SELECT count() AS n, toString(max(created_at)) AS at FROM templates',
    )
    const mark = `${row?.n}|${row?.at}`
    if (mark !== this.seen) await this.load()
    this.seen = mark
  }

  /** Validates and compiles (→ ValidationError with line and column), then stores a new version. */
  async save(input: TemplateInput): Promise<StoredTemplate> {
    const definition = templateInput.parse(input)
    const prev = this.current.get(definition.id)?.stored
    const version = Math.max(prev?.version ?? 0, await this.maxStoredVersion(definition.id)) + 1
    const stored: StoredTemplate = { definition, version, builtIn: false, createdAt: (this.opts.now ?? Date.now)() }
    compileTemplate(definition, version, this.engines) // throws before anything is stored
    if (this.opts.client)
      await this.opts.client.insert({
        table: 'templates',
        values: [{ id: definition.id, version, definition: JSON.stringify(definition), created_at: stored.createdAt }],
        format: 'JSONEachRow',
      })
    this.put(stored)
    return stored
  }

  /** Compiles without storing: the API's validate, and a journey's check of its templates. */
  check(input: TemplateInput): TemplateDefinition {
    const definition = templateInput.parse(input)
    compileTemplate(definition, 0, this.engines)
    return definition
  }

  private async maxStoredVersion(id: string): Promise<number> {
    if (!this.opts.client) return 0
    const [row] = await selectRows<{ v: number }>(this.opts.client, 'SELECT max(version) AS v FROM templates WHERE id = {id:String}', {
      id,
    })
    return Number(row?.v ?? 0)
  }

  async versions(id: string): Promise<StoredTemplate[]> {
    const rows = this.opts.client
      ? await selectRows<{ v: number; def: string; at: string }>(
          this.opts.client,
          'SELECT version AS v, definition AS def, toString(created_at) AS at FROM templates WHERE id = {id:String} ORDER BY version',
          { id },
        )
      : []
    const out: StoredTemplate[] = rows.map((r) => ({
      definition: JSON.parse(r.def),
      version: Number(r.v),
      builtIn: false,
      createdAt: Date.parse(`${r.at}Z`),
    }))
    const cur = this.current.get(id)?.stored
    if (cur?.builtIn) out.unshift(cur)
    if (!out.length) throw new NotFoundError(`No template "${id}"`)
    return out
  }

  has(id: string): boolean {
    return this.current.has(id)
  }

  ids(): string[] {
    return [...this.current.keys()].sort()
  }

  get(id: string): StoredTemplate {
    const t = this.current.get(id)
    if (!t) throw new NotFoundError(`No template "${id}"`)
    return t.stored
  }

  list(): StoredTemplate[] {
    return this.ids().map((id) => this.current.get(id)!.stored)
  }

  /** Does the template read this part of the context (so a send loads it only when needed)? */
  reads(id: string, root: ContextRoot): boolean {
    return this.current.get(id)?.reads.has(root) ?? false
  }

  usesComputed(id: string): boolean {
    return this.reads(id, 'computed')
  }

  /** Why a subject override (a journey step's, an experiment variant's) does not parse, if it does not: checked at save. */
  subjectProblem(source: string): string | undefined {
    try {
      this.engines.text.parse(source)
      return undefined
    } catch (err) {
      return (err instanceof Error ? err.message : String(err)).split('\n')[0]!
    }
  }

  async render(
    id: string,
    context: Record<string, unknown>,
    subjectOverride?: string,
  ): Promise<RenderedMessage & { version: number; topic: string }> {
    const t = this.current.get(id)
    if (!t) throw new NotFoundError(`No template "${id}"`)
    let subject = subjectOverride ? this.subjects.get(subjectOverride) : undefined
    if (subjectOverride && !subject) {
      if (this.subjects.size > 1000) this.subjects.clear()
      // A subject from a journey step or an experiment variant's payload is parsed here, at the
      // send: one that does not parse fails the same way on every attempt, so it is a render error
      // (the send is skipped with its reason), not an error the send's retry policy would repeat.
      try {
        subject = this.engines.text.parse(subjectOverride)
      } catch (err) {
        throw new TemplateRenderError(id, 'subject', (err instanceof Error ? err.message : String(err)).split('\n')[0]!)
      }
      this.subjects.set(subjectOverride, subject)
    }
    const out = await renderTemplate(t.compiled, context, this.engines, subject)
    return { ...out, version: t.stored.version, topic: t.stored.definition.topic }
  }
}

/** `---\nsubject: …\npreheader: …\nformat: mjml\n---\n<body>` → a template definition. */
export function parseTemplateFile(id: string, source: string): TemplateInput {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(source)
  const meta = m ? m[1]! : ''
  const field = (name: string) =>
    new RegExp(`^${name}:\\s*(.*)$`, 'm')
      .exec(meta)?.[1]
      ?.trim()
      .replace(/^"(.*)"$/, '$1')
  const format = field('format')
  return {
    id,
    subject: field('subject') ?? id,
    body: m ? m[2]! : source,
    ...(field('preheader') ? { preheader: field('preheader') } : {}),
    ...(format === 'mjml' || format === 'html' ? { format } : {}),
    ...(field('topic') ? { topic: field('topic') } : {}),
  }
}
