import { describe, expect, it } from 'vitest'
import { compileTemplate } from '../../content/compileTemplate.js'
import { createLiquid } from '../../content/liquidEngine.js'
import { TemplateRenderError, renderTemplate } from '../../content/renderTemplate.js'

// The render limits through the real liquidjs engine: which failures a send retries and which skip it.
const def = (body: string) => ({ id: 't', name: 't', format: 'html' as const, subject: 'Hi', body })

async function failure(limits: { renderMs: number; memory: number; parse: number }, body: string): Promise<TemplateRenderError> {
  const engines = { html: createLiquid('html', limits), text: createLiquid('text', limits) }
  const t = compileTemplate(def(body) as never, 1, engines)
  try {
    await renderTemplate(t, {}, engines)
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateRenderError)
    return err as TemplateRenderError
  }
  throw new Error('the render did not fail')
}

describe('render limits', () => {
  it('running out of wall-clock time is transient (a busy machine hits it too): the send is retried, not skipped', async () => {
    const err = await failure(
      { renderMs: 1, memory: 1e9, parse: 500_000 },
      '{% for i in (1..20000) %}{% for j in (1..50) %}{{ i }}{% endfor %}{% endfor %}',
    )
    expect(err.message).toMatch(/render limit/)
    expect(err.transient).toBe(true)
  })

  it('running out of memory, or a missing variable, is not: the same template fails the same way on every try', async () => {
    const memory = await failure({ renderMs: 60_000, memory: 1000, parse: 500_000 }, '{% for i in (1..100000) %}{{ i }}{% endfor %}')
    expect(memory.message).toMatch(/memory alloc limit/)
    expect(memory.transient).toBe(false)
    const missing = await failure({ renderMs: 60_000, memory: 1e9, parse: 500_000 }, '{{ nobody.name }}')
    expect(missing.transient).toBe(false)
  })
})

describe('render output is well-formed text', () => {
  it('a Liquid filter that cuts an emoji in half leaves U+FFFD, never a lone surrogate (the store refuses one on every retry)', async () => {
    const engines = { html: createLiquid('html'), text: createLiquid('text') }
    const t = compileTemplate(
      {
        id: 't',
        name: 't',
        format: 'html',
        subject: 'Hi {{ user.name | first }}',
        preheader: '{{ user.name | split: "" | last }}',
        body: '<p>{{ user.name | split: "" | join: "-" }}</p>',
        text: '{{ user.name | first }}.',
      } as never,
      1,
      engines,
    )
    const out = await renderTemplate(t, { user: { name: '😀 Bo' } }, engines)
    for (const part of [out.subject, out.preheader, out.html, out.text]) expect(part).not.toMatch(/\p{Surrogate}/u)
    expect(out.subject).toBe('Hi \uFFFD')
    expect(out.text).toBe('\uFFFD.')
    expect(out.html).toContain('\uFFFD-\uFFFD- -B-o')
  })
})
