package winback.peers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The shape of the winback worker's hot path in Kafka Streams, a peer in benchmarks/pipeline.py.
 *
 * <p>Every input record's JSON value is decoded for its customer and event time; the record is
 * keyed by customer (as it arrives in "keyed" mode, re-keyed and repartitioned in "repartition"
 * mode), folded into the customer's count and last event time in a persistent (RocksDB) store,
 * and one output record per input is written. One stream thread, at-least-once, the library's
 * defaults otherwise. Runs until it is stopped (SIGTERM closes it cleanly).
 *
 * <p>Usage: ActivityJob BOOTSTRAP APP_ID keyed|repartition IN1,IN2,... OUTPUT STATE_DIR PARTITIONS
 */
public final class ActivityJob {
  private static final String STORE = "activity";
  private static final ObjectMapper JSON = new ObjectMapper();

  private ActivityJob() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 7 || !List.of("keyed", "repartition").contains(args[2])) {
      System.err.println("usage: ActivityJob BOOTSTRAP APP_ID keyed|repartition IN1,IN2,... OUTPUT STATE_DIR PARTITIONS");
      System.exit(2);
    }
    Properties config = new Properties();
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    config.put(StreamsConfig.STATE_DIR_CONFIG, args[5]);
    config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    Topology topology = topology(args[2].equals("keyed"), List.of(args[3].split(",")), args[4], Integer.parseInt(args[6]));
    KafkaStreams streams = new KafkaStreams(topology, config);
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(30));
      closed.countDown();
    }));
    streams.start();
    closed.await();
  }

  /** Input topics -> (customer, event time) -> [repartition] -> fold into the store -> output. */
  static Topology topology(boolean keyed, List<String> inputs, String output, int partitions) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(
        Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.String(), Serdes.ByteArray())
            .withCachingEnabled());
    KStream<String, Long> byCustomer;
    if (keyed) {
      byCustomer = builder.stream(inputs, Consumed.with(Serdes.String(), Serdes.ByteArray()))
          .mapValues(value -> value == null ? null : eventTime(parse(value)));
    } else {
      byCustomer = builder.stream(inputs, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
          .map((key, value) -> {
            if (value == null) { // a profile's tombstone (an erasure): keyed by its customer, dated by the record
              return KeyValue.pair(new String(key, StandardCharsets.UTF_8), (Long) null);
            }
            JsonNode event = parse(value);
            return KeyValue.pair(event.get("customer_id").asText(), eventTime(event));
          })
          .repartition(Repartitioned.with(Serdes.String(), Serdes.Long()).withName("by-customer").withNumberOfPartitions(partitions));
    }
    byCustomer.process(Fold::new, STORE).to(output, Produced.with(Serdes.String(), Serdes.String()));
    return builder.build();
  }

  static JsonNode parse(byte[] value) {
    try {
      return JSON.readTree(value);
    } catch (IOException error) {
      throw new IllegalArgumentException("not JSON: " + error.getMessage(), error);
    }
  }

  /** The event's time in epoch milliseconds (profiles carry updated_at, events occurred_at). */
  static Long eventTime(JsonNode event) {
    JsonNode at = event.has("occurred_at") ? event.get("occurred_at") : event.get("updated_at");
    return at == null ? null : OffsetDateTime.parse(at.asText()).toInstant().toEpochMilli();
  }

  /** Count and last event time per customer (16 bytes in the store), one "count,last" record out per event. */
  static final class Fold implements Processor<String, Long, String, String> {
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, byte[]> store;

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      this.store = context.getStateStore(STORE);
    }

    @Override
    public void process(Record<String, Long> event) {
      long at = event.value() == null ? event.timestamp() : event.value();
      byte[] previous = store.get(event.key());
      long count = previous == null ? 1 : ByteBuffer.wrap(previous).getLong(0) + 1;
      long last = previous == null ? at : Math.max(at, ByteBuffer.wrap(previous).getLong(8));
      store.put(event.key(), ByteBuffer.allocate(16).putLong(count).putLong(last).array());
      context.forward(event.withValue(count + "," + last));
    }
  }
}
