import { KafkaUnavailable, ensureKafkaClasspath } from '../runtime/kafka/kafkaDist.js'

// `npm run setup:kafka`: resolves Apache Kafka's jars once per machine (tests and DEMO_KAFKA=1 would do it on first use).
try {
  const classpath = ensureKafkaClasspath()
  process.stdout.write(`Kafka classpath: ${classpath.split(':').length} jars (cached)\n`)
} catch (err) {
  process.stderr.write(`${err instanceof KafkaUnavailable ? err.message : String(err)}\n`)
  process.exit(1)
}
