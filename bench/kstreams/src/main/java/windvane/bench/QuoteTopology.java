package windvane.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * windvane's quote path in Kafka Streams: per symbol (the record key) the SMA5/20/60/250 of
 * daily closes, a signal per bar, and an alert when the close crosses its 60-day SMA (the side
 * is the last close strictly above or below the SMA; a close equal to it keeps the side).
 *
 * <p>Arguments: bootstrap input signals alerts application-id at_least_once|exactly_once_v2
 */
public final class QuoteTopology {
  static final int[] WINDOWS = {5, 20, 60, 250};
  static final int RING = 250;
  static final String STORE = "quote-state";

  /** Ring of the last 250 closes, count, and the side against the SMA60 (0 none, 1, -1). */
  static final class State {
    final double[] ring = new double[RING];
    long count;
    byte side;
    String lastDay = "";

    byte[] toBytes() {
      byte[] day = lastDay.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      ByteBuffer buf = ByteBuffer.allocate(RING * 8 + 8 + 1 + 4 + day.length);
      for (double v : ring) buf.putDouble(v);
      buf.putLong(count).put(side).putInt(day.length).put(day);
      return buf.array();
    }

    static State fromBytes(byte[] raw) {
      State s = new State();
      if (raw == null) return s;
      ByteBuffer buf = ByteBuffer.wrap(raw);
      for (int i = 0; i < RING; i++) s.ring[i] = buf.getDouble();
      s.count = buf.getLong();
      s.side = buf.get();
      byte[] day = new byte[buf.getInt()];
      buf.get(day);
      s.lastDay = new String(day, java.nio.charset.StandardCharsets.UTF_8);
      return s;
    }

    /** SMA of the last n closes, or NaN before n closes exist. */
    double sma(int n) {
      if (count < n) return Double.NaN;
      double sum = 0;
      for (int i = 0; i < n; i++) sum += ring[(int) ((count - 1 - i) % RING)];
      return sum / n;
    }
  }

  static final class SmaProcessor implements Processor<String, String, String, String> {
    private final ObjectMapper json = new ObjectMapper();
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, byte[]> store;

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      this.store = context.getStateStore(STORE);
    }

    @Override
    public void process(Record<String, String> record) {
      JsonNode quote;
      try {
        quote = json.readTree(record.value());
      } catch (Exception e) {
        return; // the benchmark feed is valid; windvane dead-letters instead
      }
      String symbol = record.key();
      String day = quote.get("date").asText();
      double close = quote.get("close").asDouble();
      State s = State.fromBytes(store.get(symbol));
      if (day.compareTo(s.lastDay) <= 0) return; // duplicate or late bar
      s.ring[(int) (s.count % RING)] = close;
      s.count++;
      s.lastDay = day;
      ObjectNode signal = json.createObjectNode();
      signal.put("symbol", symbol).put("trading_day", day).put("close", close);
      ObjectNode sma = signal.putObject("sma");
      for (int n : WINDOWS) {
        double v = s.sma(n);
        if (Double.isNaN(v)) sma.putNull(Integer.toString(n));
        else sma.put(Integer.toString(n), v);
      }
      double sma60 = s.sma(60);
      if (!Double.isNaN(sma60) && close != sma60) {
        byte side = (byte) (close > sma60 ? 1 : -1);
        if (s.side != 0 && side != s.side) {
          ObjectNode alert = json.createObjectNode();
          alert.put("symbol", symbol).put("trading_day", day);
          alert.put("direction", side > 0 ? "above" : "below");
          alert.put("close", close).put("sma60", sma60);
          context.forward(record.withValue(alert.toString()), "alerts");
        }
        s.side = side;
      }
      store.put(symbol, s.toBytes());
      context.forward(record.withValue(signal.toString()), "signals");
    }
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], input = args[1], signals = args[2], alerts = args[3];
    Topology topology = new Topology();
    topology.addSource("quotes", Serdes.String().deserializer(), Serdes.String().deserializer(), input);
    topology.addProcessor("sma", SmaProcessor::new, "quotes");
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(STORE), Serdes.String(), Serdes.ByteArray()),
        "sma");
    topology.addSink("signals", signals, Serdes.String().serializer(), Serdes.String().serializer(), "sma");
    topology.addSink("alerts", alerts, Serdes.String().serializer(), Serdes.String().serializer(), "sma");

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[4]);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[5]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args.length > 6 ? args[6] : "/tmp/kstreams-bench");
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    KafkaStreams streams = new KafkaStreams(topology, props);
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      done.countDown();
    }));
    streams.start();
    System.out.println("kstreams: started");
    done.await();
  }
}
