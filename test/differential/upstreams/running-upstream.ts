/** An upstream started for the suite. */
export interface RunningUpstream {
  name: string;
  url: string;
  stop(): Promise<void>;
}
