// Map.groupBy / Object.groupBy for Node 20: vitest 4 (the runner this repo
// pins, since vitest 5 requires Node >= 22) supports Node 20, but test
// helpers and a later runner upgrade may call them; kept as a safety net.
// Loaded with `node --import` before the test runner; adds only what is
// missing and changes nothing on newer Node versions.

function groupInto(items, keyOf, make, add) {
  const out = make()
  let i = 0
  for (const item of items) add(out, keyOf(item, i++), item)
  return out
}

if (typeof Map.groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value: (items, keyOf) =>
      groupInto(
        items,
        keyOf,
        () => new Map(),
        (m, k, v) => {
          const list = m.get(k)
          if (list) list.push(v)
          else m.set(k, [v])
        },
      ),
  })
}

if (typeof Object.groupBy !== 'function') {
  Object.defineProperty(Object, 'groupBy', {
    configurable: true,
    writable: true,
    value: (items, keyOf) =>
      groupInto(
        items,
        keyOf,
        () => Object.create(null),
        (o, k, v) => {
          if (Object.hasOwn(o, k)) o[k].push(v)
          else o[k] = [v]
        },
      ),
  })
}

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value() {
      let resolve
      let reject
      const promise = new this((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}
