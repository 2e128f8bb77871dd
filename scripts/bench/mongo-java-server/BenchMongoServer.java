/*
 * The benchmark's MongoDB-wire store that indexes `_id`: mongo-java-server with its in-memory
 * backend, bound to 127.0.0.1:PORT. Nothing is persisted; it lives as long as this process.
 * Started only by scripts/bench/idp-bench.ts (`npm run bench:idp`); it is no production store.
 * Prints "ready <port>" on stdout once it accepts connections; stops on SIGTERM or closed stdin.
 */
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import java.util.List;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

public final class BenchMongoServer {
  /**
   * Its built-in versions report wire version 6-8 (its "MONGO_5_0" says 8), which the Node driver 7
   * refuses ("requires at least 9 (MongoDB 4.4)"). The version is only reported in the handshake
   * (nothing else in mongo-java-server 1.47.0 reads it), so claim 4.4: the oldest the driver accepts.
   */
  private static final MongoVersion MONGO_4_4 = new MongoVersion() {
    @Override public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
    @Override public int getWireVersion() { return 9; }
  };

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args.length > 0 ? args[0] : "27017");
    MongoServer server = new MongoServer(new MemoryBackend().version(MONGO_4_4));
    server.bind("127.0.0.1", port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    System.out.println("ready " + port);
    System.out.flush();
    // Ends when the parent closes our stdin (the benchmark exited, even uncleanly).
    while (System.in.read() != -1) { /* ignore input */ }
    System.exit(0);
  }
}
