import { z } from 'zod'

/**
 * A template, as the API takes it and the store keeps it (each save is a new version). `body` is
 * MJML (compiled to responsive HTML once, at save) or HTML; Liquid works in every field. In MJML,
 * Liquid control flow that wraps whole components goes in `<mj-raw>` (MJML's own advice), and
 * partials (`{% render 'recommendations', products: recommendations.similar %}`) render HTML.
 * A template never reads a file: `<mj-include>` is refused (400, rule `mjml_include_forbidden`) and
 * Liquid's `include`/`render`/`layout` find only Nudge's built-in partials.
 */
export const templateId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1–64 characters: lowercase letters, digits, "-" or "_", starting with a letter or digit')

export const templateInput = z
  .object({
    id: templateId,
    name: z.string().min(1).max(200).optional(),
    format: z.enum(['mjml', 'html']).default('html'),
    subject: z.string().min(1, 'must not be empty').max(2000),
    preheader: z.string().max(2000).optional(),
    body: z
      .string()
      .min(1, 'must not be empty')
      .max(500_000)
      .describe(
        'MJML or HTML with Liquid. <mj-include> is refused (rule mjml_include_forbidden); partials come from Nudge’s built-in set only',
      ),
    /** The plain-text part; derived from the HTML when absent. */
    text: z.string().max(200_000).optional(),
    /** Consent topic its mail belongs to (its unsubscribe link opts out of this topic). */
    topic: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be a lowercase identifier')
      .default('marketing'),
  })
  .strict()

export type TemplateInput = z.input<typeof templateInput>
export type TemplateDefinition = z.output<typeof templateInput>

/** A saved version of a template, as the store keeps it and the API answers it. */
export const storedTemplate = z
  .object({
    definition: templateInput,
    version: z.number().int(),
    /** Built in (content/templates/*.liquid) rather than saved through the API. */
    builtIn: z.boolean(),
    createdAt: z.number().describe('Epoch ms'),
  })
  .meta({ id: 'Template' })
export type StoredTemplate = z.infer<typeof storedTemplate>

/** A rendered email: what a send composes and a template preview answers (with the version rendered). */
export const renderedMessage = z.object({ subject: z.string(), preheader: z.string(), html: z.string(), text: z.string() })
export type RenderedMessage = z.infer<typeof renderedMessage>
