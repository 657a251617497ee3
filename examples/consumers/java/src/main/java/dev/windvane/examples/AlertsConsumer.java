package dev.windvane.examples;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads windvane's {@code alerts} topic and prints one line per alert with its CloudEvents
 * attributes (Kafka protocol binding, binary mode: {@code ce_*} headers; the value is the
 * alert, schemas/alert.json).
 *
 * <pre>
 * java -cp 'target/windvane-alerts-consumer-1.jar:target/lib/*' dev.windvane.examples.AlertsConsumer \
 *     --bootstrap 127.0.0.1:9092 [--topic alerts] [--group my-app] [--from-beginning] [--until-idle SECONDS]
 * </pre>
 *
 * <p>Reads with {@code isolation.level=read_committed}: windvane writes alerts in Kafka
 * transactions under exactly-once. Alert ids are deterministic: dedupe on {@code ce_id}.
 */
public final class AlertsConsumer {
  static final List<String> ATTRIBUTES =
      List.of(
          "ce_id",
          "ce_type",
          "ce_subject",
          "ce_time",
          "ce_source",
          "ce_dataschema",
          "ce_specversion",
          "content-type");

  private AlertsConsumer() {}

  /** The CloudEvents attributes of a record: {@code ce_} headers and {@code content-type}. */
  static Map<String, String> cloudEvent(Iterable<Header> headers) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Header header : headers) {
      String name = header.key().toLowerCase(Locale.ROOT);
      if ((name.startsWith("ce_") || name.equals("content-type")) && header.value() != null) {
        out.put(name, new String(header.value(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  static String line(Map<String, String> attributes, int partition, long offset, byte[] value) {
    StringBuilder sb = new StringBuilder("alert");
    for (String name : ATTRIBUTES) {
      sb.append(' ').append(name).append('=').append(attributes.getOrDefault(name, "-"));
    }
    sb.append(" partition=").append(partition).append(" offset=").append(offset);
    sb.append(" value=").append(new String(value, StandardCharsets.UTF_8));
    return sb.toString();
  }

  public static void main(String[] args) {
    String bootstrap = "127.0.0.1:9092";
    String topic = "alerts";
    String group = null;
    boolean fromBeginning = false;
    Double untilIdle = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--bootstrap" -> bootstrap = args[++i];
        case "--topic" -> topic = args[++i];
        case "--group" -> group = args[++i];
        case "--from-beginning" -> fromBeginning = true;
        case "--until-idle" -> untilIdle = Double.parseDouble(args[++i]);
        default -> {
          System.err.println("unknown argument " + args[i]);
          System.exit(2);
        }
      }
    }
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, String.valueOf(group != null));
    if (group != null) {
      props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    }
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    long seen = 0;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      if (group != null) {
        consumer.subscribe(List.of(topic));
      } else { // no group: every partition, assigned by hand
        List<org.apache.kafka.common.TopicPartition> parts =
            consumer.partitionsFor(topic).stream()
                .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition()))
                .toList();
        consumer.assign(parts);
        if (fromBeginning) {
          consumer.seekToBeginning(parts);
        } else {
          consumer.seekToEnd(parts);
        }
      }
      long last = System.nanoTime();
      while (true) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
        for (ConsumerRecord<byte[], byte[]> record : records) {
          if (record.value() == null) {
            continue;
          }
          System.out.println(
              line(cloudEvent(record.headers()), record.partition(), record.offset(), record.value()));
          seen++;
          last = System.nanoTime();
        }
        System.out.flush();
        if (untilIdle != null && (System.nanoTime() - last) / 1e9 > untilIdle) {
          break;
        }
      }
    }
    System.err.println(seen + " alerts");
  }
}
