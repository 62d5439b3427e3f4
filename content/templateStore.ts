import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { NotFoundError } from '../core/errors.js'
import { type DefinitionKind, DefinitionStore } from '../clickhouse/definitions/definitionStore.js'
import { type CompiledTemplate, compileTemplate } from './compileTemplate.js'
import { createLiquid, DEFAULT_LIMITS, type SandboxLimits } from './liquidEngine.js'
import { type RenderedMessage, TemplateRenderError, renderTemplate } from './renderTemplate.js'
import { type StoredTemplate, type TemplateDefinition, type TemplateInput, templateInput } from './templateSchema.js'

export const TEMPLATES_DIR = join(import.meta.dirname, 'templates')

/** Parts of the render context that cost a lookup: loaded for a send only if its template reads them. */
const CONTEXT_ROOTS = ['computed', 'recommendations', 'behavior'] as const
type ContextRoot = (typeof CONTEXT_ROOTS)[number]

/** A template as held: compiled once, with the parts of the context it reads. */
type HeldTemplate = StoredTemplate & { compiled: CompiledTemplate; reads: Set<ContextRoot> }

type Engines = { html: ReturnType<typeof createLiquid>; text: ReturnType<typeof createLiquid> }

/** Saved versions in the `templates` table (no deletions); each is checked and compiled as it is held. */
function templateKind(engines: Engines): DefinitionKind<StoredTemplate, HeldTemplate> {
  return {
    table: 'templates',
    key: 'id',
    time: 'created_at',
    deletable: false,
    columns: ['definition'],
    keyOf: (t) => t.definition.id,
    versionOf: (t) => t.version,
    timeOf: (t) => t.createdAt,
    encode: (t) => ({ definition: JSON.stringify(t.definition) }),
    decode: (r) => ({ definition: JSON.parse(String(r.columns.definition)), version: r.version, builtIn: false, createdAt: r.at }),
    prepare: (t) => hold({ ...t, definition: templateInput.parse(t.definition) }, engines),
  }
}

function hold(stored: StoredTemplate, engines: Engines): HeldTemplate {
  const compiled = compileTemplate(stored.definition, stored.version, engines)
  const d = stored.definition
  const text = `${d.subject} ${d.preheader ?? ''} ${d.body} ${d.text ?? ''}`
  const reads = new Set(CONTEXT_ROOTS.filter((root) => new RegExp(`\\b${root}\\b`).test(text)))
  return { ...stored, compiled, reads }
}

/**
 * Templates: the built-in ones (`content/templates/<id>.liquid`, front matter for subject,
 * preheader, format, topic) and versions saved through the API (ClickHouse `templates`; the
 * highest version wins over a built-in of the same id). Everything is compiled once — on save, at
 * load, or when another process saved (polled) — so a send only renders.
 */
export class TemplateStore {
  /** Built-ins (version 0), and saves when there is no store (a bench). */
  private readonly local = new Map<string, HeldTemplate>()
  private readonly saved?: DefinitionStore<StoredTemplate, HeldTemplate>
  /** Subject overrides (experiment variants) parsed once, not per send. */
  private readonly subjects = new Map<string, CompiledTemplate['subject']>()
  private readonly engines: Engines

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
    if (opts.client) this.saved = new DefinitionStore(opts.client, templateKind(this.engines), { log: opts.log })
    const dir = opts.dir ?? TEMPLATES_DIR
    for (const f of readdirSync(dir)
      .filter((x) => x.endsWith('.liquid'))
      .sort()) {
      const def = templateInput.parse(parseTemplateFile(f.slice(0, -'.liquid'.length), readFileSync(join(dir, f), 'utf8')))
      this.local.set(def.id, hold({ definition: def, version: 0, builtIn: true, createdAt: 0 }, this.engines))
    }
  }

  /** The current version: a saved one outranks a built-in (saved versions start at 1). */
  private held(id: string): HeldTemplate | undefined {
    return this.saved?.get(id) ?? this.local.get(id)
  }

  /** Loads saved versions (the latest of each id). */
  async load(): Promise<void> {
    await this.saved?.load()
  }

  /** Follows saves made by other processes. */
  start(pollMs = 1000): void {
    this.saved?.start(pollMs)
  }

  stop(): void {
    this.saved?.stop()
  }

  /** Validates and compiles (→ ValidationError with line and column), then stores a new version. */
  async save(input: TemplateInput): Promise<StoredTemplate> {
    const definition = templateInput.parse(input)
    const createdAt = (this.opts.now ?? Date.now)()
    if (!this.saved) {
      const stored = { definition, version: (this.local.get(definition.id)?.version ?? 0) + 1, builtIn: false, createdAt }
      this.local.set(definition.id, hold(stored, this.engines))
      return stored
    }
    const stored: StoredTemplate = { definition, version: await this.saved.nextVersion(definition.id), builtIn: false, createdAt }
    await this.saved.save(stored) // compiles first: a template that does not compile is never stored
    return stored
  }

  /** Compiles without storing: the API's validate, and a journey's check of its templates. */
  check(input: TemplateInput): TemplateDefinition {
    const definition = templateInput.parse(input)
    compileTemplate(definition, 0, this.engines)
    return definition
  }

  async versions(id: string): Promise<StoredTemplate[]> {
    const out = (await this.saved?.versions(id)) ?? []
    const cur = this.held(id)
    if (cur?.builtIn) out.unshift(stored(cur))
    if (!out.length) throw new NotFoundError(`No template "${id}"`)
    return out
  }

  has(id: string): boolean {
    return this.held(id) !== undefined
  }

  ids(): string[] {
    return [...new Set([...this.local.keys(), ...(this.saved?.entries.keys() ?? [])])].sort()
  }

  get(id: string): StoredTemplate {
    const t = this.held(id)
    if (!t) throw new NotFoundError(`No template "${id}"`)
    return stored(t)
  }

  list(): StoredTemplate[] {
    return this.ids().map((id) => stored(this.held(id)!))
  }

  /** Does the template read this part of the context (so a send loads it only when needed)? */
  reads(id: string, root: ContextRoot): boolean {
    return this.held(id)?.reads.has(root) ?? false
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
    const t = this.held(id)
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
    return { ...out, version: t.version, topic: t.definition.topic }
  }
}

function stored({ compiled: _c, reads: _r, ...t }: HeldTemplate): StoredTemplate {
  return t
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
