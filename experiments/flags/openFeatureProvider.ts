import {
  type EvaluationContext,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
} from '@openfeature/server-sdk'
import type { Details } from './evaluateFlag.js'
import type { FlagService } from './flagService.js'

/**
 * Nudge's flags behind the OpenFeature server SDK: code asks `client.getNumberValue(
 * 'cart_abandonment.reminder_delay', 900000, { targetingKey: userId })` and gets the value with
 * OpenFeature's reasons and error codes. A change (here, or picked up from another process)
 * emits ConfigurationChanged with the flags that changed.
 */
export class NudgeFlagProvider implements Provider {
  readonly metadata = { name: 'nudge' } as const
  readonly runsOn = 'server' as const
  readonly events = new OpenFeatureEventEmitter()

  constructor(private readonly flags: FlagService) {
    flags.onChange((flagsChanged) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged }))
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(details(this.flags.evaluate(flagKey, 'boolean', defaultValue, context)))
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(details(this.flags.evaluate(flagKey, 'string', defaultValue, context)))
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(details(this.flags.evaluate(flagKey, 'number', defaultValue, context)))
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return Promise.resolve(details(this.flags.evaluate(flagKey, 'object', defaultValue, context)))
  }
}

function details<T>(d: Details<T>): ResolutionDetails<T> {
  return d as ResolutionDetails<T>
}
