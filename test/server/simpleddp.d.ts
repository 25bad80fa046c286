/** The little of simpleddp's API the interoperability tests use (it ships no types). */
declare module 'simpleddp' {
  interface SimpleDdpSubscription {
    ready(): Promise<void>;
    stop(): Promise<void>;
    isReady(): boolean;
  }
  interface SimpleDdpCollection {
    fetch(): Record<string, unknown>[];
  }
  interface SimpleDdpOptions {
    endpoint: string;
    SocketConstructor: unknown;
    reconnectInterval?: number;
    autoReconnect?: boolean;
    maxTimeout?: number;
  }
  class SimpleDDP {
    constructor(options: SimpleDdpOptions);
    connected: boolean;
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    call(method: string, ...params: unknown[]): Promise<unknown>;
    subscribe(name: string, ...params: unknown[]): SimpleDdpSubscription;
    collection(name: string): SimpleDdpCollection;
  }
  export default SimpleDDP;
}
