// The browser's microphone → the live server's /audio WebSocket → the head (docs/live.md).
//
//   import { streamMicrophone } from "/static/live_microphone.js";
//   const live = await streamMicrophone("/audio", viewer, { prompt: "calm", status: (s) => note.textContent = s });
//   live.setPrompt("overjoyed");   live.setExpression({mouthSmileLeft: 0.8, …}, "a photo");   live.stop();   live.stats   // {frames drawn, latencies (s): sound → face drawn}
//
// The sound is resampled to 16 kHz by the AudioContext, cut into 20 ms pieces by an AudioWorklet and sent
// as int16 little-endian samples; the viewer draws the frames that come back, one per drawn frame, and
// ``stats`` counts them (``frames``) and times each from its sound being sent to its face being drawn.

const CHUNK = 320; // samples (20 ms at 16 kHz)

const WORKLET = `
class Pcm16 extends AudioWorkletProcessor {
  constructor() { super(); this.buffer = new Int16Array(${CHUNK}); this.filled = 0; }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.buffer[this.filled++] = Math.max(-32768, Math.min(32767, Math.round(channel[i] * 32767)));
      if (this.filled === this.buffer.length) {
        this.port.postMessage(this.buffer.buffer, [this.buffer.buffer]);
        this.buffer = new Int16Array(${CHUNK});
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor("expclip-pcm16", Pcm16);
`;

/** Stream the microphone to ``url`` and show the frames on ``viewer``; resolves once the sound flows. */
export async function streamMicrophone(url, viewer, { prompt = "", status = () => {} } = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.AudioWorkletNode) {
    status("This browser cannot stream the microphone (it needs getUserMedia and AudioWorklet on an https page).");
    throw new Error("no microphone API");
  }
  let media;
  try {
    media = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  } catch (error) {
    status(error.name === "NotAllowedError"
      ? "The microphone is blocked: allow it for this page to go live; the rest of the page works without it."
      : `No microphone could be opened (${error.name}); plug one in and try again.`);
    throw error;
  }
  const context = new AudioContext({ sampleRate: 16000 });
  const module = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
  await context.audioWorklet.addModule(module);
  const node = new AudioWorkletNode(context, "expclip-pcm16");
  const mute = context.createGain();
  mute.gain.value = 0;
  context.createMediaStreamSource(media).connect(node).connect(mute).connect(context.destination);

  const socket = viewer.follow(url, { onFrame, onMessage }).socket;
  socket.binaryType = "arraybuffer";
  const stats = { frames: 0, latencies: [], sent: 0 };
  const sentAt = []; // [samples sent up to the end of a piece, time it was sent (ms)]
  node.port.onmessage = (event) => {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(event.data);
    stats.sent += CHUNK;
    sentAt.push([stats.sent, performance.now()]);
  };
  let opened = false;
  function onMessage(message) {
    if (message.type === "hello" && !opened) {
      opened = true;
      if (prompt) viewer.stream.setPrompt(prompt);
    }
  }
  function onFrame(message) {
    stats.frames += 1;
    const sample = message.t * 16000; // the frame's instant, counted in the samples sent
    while (sentAt.length > 1 && sentAt[0][0] < sample) sentAt.shift();
    if (sentAt.length) stats.latencies.push((performance.now() - sentAt[0][1]) / 1000);
    if (stats.latencies.length > 3000) stats.latencies.shift();
  }
  const stop = () => { media.getTracks().forEach((t) => t.stop()); context.close(); viewer.stopStream(); };
  try {
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve, { once: true });
      socket.addEventListener("error", reject, { once: true });
    });
  } catch (error) {
    stop();  // the server is unreachable (the viewer said so): the microphone goes off again
    throw error;
  }
  return {
    stats,
    setPrompt: (text, intensity = 1) => viewer.stream && viewer.stream.setPrompt(text, intensity),
    setExpression: (weights, label) => viewer.stream && viewer.stream.setExpression(weights, label),
    stop,
  };
}
