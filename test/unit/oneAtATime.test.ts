import { describe, expect, it } from 'vitest'
import { OneAtATime } from '../../core/oneAtATime.js'

describe('OneAtATime (the deliverer renders one template at a time)', () => {
  it('runs tasks in turn, never two at once, in the order handed in', async () => {
    const q = new OneAtATime()
    let running = 0
    let most = 0
    const order: number[] = []
    const task = (i: number) => async () => {
      running++
      most = Math.max(most, running)
      for (let k = 0; k < 3; k++) await Promise.resolve() // yields between steps, as a render does
      order.push(i)
      running--
      return i
    }
    const results = await Promise.all([1, 2, 3, 4].map((i) => q.run(task(i))))
    expect(results).toEqual([1, 2, 3, 4])
    expect(order).toEqual([1, 2, 3, 4])
    expect(most).toBe(1)
  })

  it('a failed task fails its caller only; the next one still runs', async () => {
    const q = new OneAtATime()
    const failed = q.run(async () => {
      throw new Error('render failed')
    })
    const next = q.run(async () => 'ok')
    await expect(failed).rejects.toThrow('render failed')
    await expect(next).resolves.toBe('ok')
  })
})
