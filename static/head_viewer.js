// The ExpCLIP head in WebGL: a GLB with 52 ARKit morph targets (python -m render glb), orbit and zoom.
//
//   import { HeadViewer } from "/static/head_viewer.js";
//   const viewer = new HeadViewer(document.querySelector("#head"));
//   await viewer.load("/head.glb");
//   viewer.setWeights({ jawOpen: 0.6, mouthSmileLeft: 1 });        // (a) one expression: names or 52 numbers
//   viewer.play(frames, 30, audioElement);                         // (b) (T, 52) weights in sync with <audio>
//   const stream = viewer.follow("ws://127.0.0.1:8765/");          // (c) a live stream (docs/live.md)
//   stream.setPrompt("overjoyed");
//
// three.js comes from ./vendor/three.min.js, built from the npm package pinned in tests/js (make vendor).
//
// Drawing cost: the morph targets are applied here on the CPU, each weight above zero over only the vertices
// it moves (three.js's shader would loop over all 52 targets for every vertex, whatever their weights), and a
// software WebGL (SwiftShader, llvmpipe: no GPU) draws without antialiasing at SOFTWARE_PIXEL_RATIO and loads
// the lighter head (detail=light).

import {
  AmbientLight, Box3, Color, DirectionalLight, PerspectiveCamera, Scene, SRGBColorSpace, Vector3, WebGLRenderer,
  GLTFLoader, OrbitControls,
} from "./vendor/three.min.js";

const INVISIBLE = 0.005; // weights below this move nothing one can see; at 0 their target costs nothing
const SOFTWARE_PIXEL_RATIO = 0.5; // canvas pixels per CSS pixel where the CPU draws (a GPU: up to 2)
const LATE_MS = 20; // a live frame waiting longer than this gives way to a newer one

export class HeadViewer {
  /** A canvas filling ``container`` (an element with a size); ``status(sentence)`` hears every problem. */
  constructor(container, { background = "#20242c", status = () => {} } = {}) {
    this.container = container;
    this.status = status;
    this.meshes = [];       // the meshes carrying the morph targets
    this.names = [];        // the morph target names, in the file's order
    this.sequence = null;   // { frames: Float32Array[], fps, audio, start, paused, at }
    this.drawn = 0;         // frames drawn so far
    this.dirty = true;      // something changed since the last frame drawn
    this.morphs = [];       // per mesh: its morph targets, applied by pose()
    this.posed = true;      // the vertices follow the weights (false: setWeights changed them since)
    this.lateMs = LATE_MS;  // a live frame waiting longer than this gives way to a newer one
    this.software = softwareWebGL();
    try {
      this.renderer = new WebGLRenderer({ antialias: !this.software, preserveDrawingBuffer: true });
    } catch (error) {
      this.status("This browser cannot show the 3D head (WebGL is unavailable); the rendered images still work.");
      throw error;
    }
    this.renderer.outputColorSpace = SRGBColorSpace;
    this.renderer.setPixelRatio(this.software ? SOFTWARE_PIXEL_RATIO : Math.min(window.devicePixelRatio || 1, 2));
    container.appendChild(this.renderer.domElement);
    this.scene = new Scene();
    this.scene.background = new Color(background);
    this.camera = new PerspectiveCamera(25, 1, 0.01, 10);
    this.scene.add(new AmbientLight(0xffffff, 0.9));
    const key = new DirectionalLight(0xffffff, 2.2);
    key.position.set(0.6, 0.8, 1.2);
    const rim = new DirectionalLight(0xb0c4ff, 1.0);
    rim.position.set(-1, 0.4, -0.8);
    this.scene.add(key, rim);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = true;
    this.controls.addEventListener("change", () => { this.dirty = true; });
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
    this.renderer.setAnimationLoop(() => this.tick());
  }

  /** Load the head GLB from ``url``; resolves when it is on screen. */
  /** Load the head from ``url``; where WebGL runs on the CPU, its lighter version (``detail=light``, a third of
   *  the vertices: head/simplify.py) unless the URL names a detail already. */
  async load(url) {
    if (this.software) {
      const wanted = new URL(url, window.location.href);
      if (!wanted.searchParams.has("detail")) wanted.searchParams.set("detail", "light");
      url = wanted.href;
    }
    this.url = url;
    let gltf;
    try {
      gltf = await new GLTFLoader().loadAsync(url);
    } catch (error) {
      this.status(`The 3D head could not be loaded from ${url} (${error.message || error}).`);
      throw error;
    }
    if (this.model) this.scene.remove(this.model);
    this.model = gltf.scene;
    this.scene.add(this.model);
    this.meshes = [];
    this.model.traverse((node) => { if (node.morphTargetDictionary) this.meshes.push(node); });
    this.morphs = this.meshes.map(cpuMorphs);
    const dictionary = this.meshes.length ? this.meshes[0].morphTargetDictionary : {};
    this.names = Object.keys(dictionary).sort((a, b) => dictionary[a] - dictionary[b]);
    this.frame(new Box3().setFromObject(this.model));
    this.dirty = true;
    this.posed = false;
    return this;
  }

  /** Aim the camera at the face of ``box`` (the head faces +Z, Y up). */
  frame(box) {
    const centre = box.getCenter(new Vector3());
    const size = box.getSize(new Vector3());
    const distance = (Math.max(size.x, size.y) / 2) / Math.tan((this.camera.fov * Math.PI) / 360) * 1.05;
    this.camera.position.set(centre.x, centre.y, centre.z + size.z / 2 + distance);
    this.camera.near = distance / 50;
    this.camera.far = distance * 20;
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(centre);
    this.controls.minDistance = distance * 0.3;
    this.controls.maxDistance = distance * 4;
    this.controls.update();
  }

  resize() {
    const width = this.container.clientWidth || 1, height = this.container.clientHeight || 1;
    this.renderer.setSize(width, height, false);
    this.renderer.domElement.style.width = "100%";
    this.renderer.domElement.style.height = "100%";
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.dirty = true;
  }

  /** Show one expression: ``{name: value}`` (any subset; the rest keep their values) or 52 numbers in
   * ``names`` order (default: the file's order, which is the project's alphabetical ARKit order). */
  setWeights(weights, names = this.names) {
    const pairs = Array.isArray(weights) || ArrayBuffer.isView(weights)
      ? names.map((name, i) => [name, weights[i]]) : Object.entries(weights);
    for (const mesh of this.meshes) {
      for (const [name, value] of pairs) {
        const index = mesh.morphTargetDictionary[name];
        const v = Math.min(1, Math.max(0, Number(value) || 0));
        if (index !== undefined) mesh.morphTargetInfluences[index] = v < INVISIBLE ? 0 : v;
      }
    }
    this.dirty = true;
    this.posed = false;
  }

  /** Move the vertices (positions and normals) to the weights now: rest + Σ weight × target. */
  pose() {
    this.meshes.forEach((mesh, m) => {
      const influences = mesh.morphTargetInfluences;
      for (const { attribute, rest, targets } of this.morphs[m]) {
        const out = attribute.array;
        out.set(rest);
        targets.forEach(({ offsets, values }, k) => {
          const w = influences[k];
          if (!w) return;
          for (let j = 0, v = 0; j < offsets.length; j++, v += 3) {
            const o = offsets[j];
            out[o] += w * values[v];
            out[o + 1] += w * values[v + 1];
            out[o + 2] += w * values[v + 2];
          }
        });
        attribute.needsUpdate = true;
      }
    });
    this.posed = true;
  }

  /** The influences now, ``{name: value}`` (of the first morphing mesh). */
  weights() {
    const mesh = this.meshes[0];
    return mesh ? Object.fromEntries(this.names.map((n) => [n, mesh.morphTargetInfluences[mesh.morphTargetDictionary[n]]])) : {};
  }

  /** Play ``frames`` ((T, 52) arrays, or ``{name: value}`` objects) at ``fps``. With an <audio> element the
   * face follows its clock (its own controls play, pause and scrub); without one, ``pause()``, ``resume()``
   * and ``seek(seconds)`` drive it. */
  play(frames, fps = 30, audio = null) {
    const rows = frames.map((f) => Array.isArray(f) || ArrayBuffer.isView(f)
      ? Float32Array.from(f) : Float32Array.from(this.names, (n) => f[n] || 0));
    this.stopStream();
    this.sequence = { frames: rows, fps, audio, start: performance.now() / 1000, paused: false, at: 0 };
    if (audio) audio.play().catch(() => this.status("Press play to start the sound; the face follows it."));
  }

  pause() { const s = this.sequence; if (s && !s.audio && !s.paused) { s.at = this.time(); s.paused = true; } }
  resume() { const s = this.sequence; if (s && !s.audio && s.paused) { s.start = performance.now() / 1000 - s.at; s.paused = false; } }
  seek(seconds) {
    const s = this.sequence;
    if (!s) return;
    if (s.audio) s.audio.currentTime = seconds;
    else { s.at = seconds; s.start = performance.now() / 1000 - seconds; }
  }

  /** Seconds into the sequence. */
  time() {
    const s = this.sequence;
    if (!s) return 0;
    if (s.audio) return s.audio.currentTime;
    return s.paused ? s.at : performance.now() / 1000 - s.start;
  }

  /** Follow a live stream at ``url`` (ws://… or a path on this server). Returns ``{setPrompt, setExpression, close}``
   *  (an expression: ``{name: weight}`` of the ARKit names or 52 numbers in their order). ``onFrame(message)``
   *  hears each frame when it is drawn, ``onMessage(message)`` every message when it arrives. */
  follow(url, { onFrame = () => {}, onMessage = () => {} } = {}) {
    this.sequence = null;
    this.stopStream();
    const socket = new WebSocket(websocketUrl(url));
    const stream = this.stream = { socket, names: null, frames: 0, queue: [], onFrame,
      setPrompt: (prompt, intensity = 1) => socket.readyState === WebSocket.OPEN
        && socket.send(JSON.stringify({ prompt, intensity })),
      setExpression: (weights, label = "an expression") => socket.readyState === WebSocket.OPEN
        && socket.send(JSON.stringify({ expression: weights, label })),
      close: () => socket.close() };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "frame") {
        message.arrived = performance.now();
        stream.queue.push(message);  // shown by tick(), one per drawn frame
        stream.frames += 1;
      } else if (message.type === "error") {
        this.status(message.message);
      }
      onMessage(message);
    };
    socket.onerror = () => this.status(`The live stream at ${socket.url} could not be reached.`);
    socket.onclose = (event) => {
      if (this.stream === stream && !stream.closing) this.status(`The live stream closed (${event.code}); reload to reconnect.`);
    };
    return stream;
  }

  stopStream() {
    if (this.stream) { this.stream.closing = true; this.stream.socket.close(); this.stream = null; }
  }

  tick() {
    const live = this.stream;
    if (live && live.queue.length) {
      // Frames come over the network unevenly, two at once now and then. Each drawn frame shows the oldest one
      // waiting, so two that arrive together are both seen, unless a newer one waits behind it and it has
      // waited lateMs already: then it is dropped, so that a browser drawing slower than 30 a second skips
      // frames rather than falling behind the voice.
      const now = performance.now();
      while (live.queue.length > 1 && now - live.queue[0].arrived > this.lateMs) live.queue.shift();
      const message = live.queue.shift();
      this.setWeights(message.weights);
      live.onFrame(message);
    }
    const s = this.sequence;
    if (s && s.frames.length) {
      const position = Math.min(Math.max(this.time() * s.fps, 0), s.frames.length - 1);
      const low = Math.floor(position), high = Math.min(low + 1, s.frames.length - 1), w = position - low;
      const a = s.frames[low], b = s.frames[high];
      this.setWeights(a.map((v, i) => v * (1 - w) + b[i] * w));
    }
    this.controls.update();  // damping: it reports a change while the view still glides
    if (!this.dirty) return;
    this.dirty = false;
    if (!this.posed) this.pose();  // once per drawn frame, with the latest weights only
    this.renderer.render(this.scene, this.camera);
    this.drawn += 1;
  }
}

/** The morph targets of ``mesh``'s geometry taken out of three.js's hands (its shader then has none), as
 * ``[{attribute, rest, targets: [{offsets, values}]}]`` per morphed attribute (position, normal): per target the
 * array offsets of the vertices it moves and their offsets. The bounds stay those GLTFLoader gave, which
 * include the targets. */
function cpuMorphs(mesh) {
  const geometry = mesh.geometry;
  const morphs = Object.entries(geometry.morphAttributes).map(([name, targets]) => {
    const attribute = geometry.attributes[name];
    return { attribute, rest: attribute.array.slice(), targets: targets.map(({ array }) => {
      const offsets = [];
      for (let o = 0; o < array.length; o += 3) if (array[o] || array[o + 1] || array[o + 2]) offsets.push(o);
      const values = new Float32Array(offsets.length * 3);
      offsets.forEach((o, j) => values.set(array.subarray(o, o + 3), j * 3));
      return { offsets: Uint32Array.from(offsets), values };
    }) };
  });
  geometry.morphAttributes = {};
  return morphs;
}

let software = null;

/** Whether this browser's WebGL is drawn by the CPU (asked once, of a throwaway context). */
function softwareWebGL() {
  if (software === null) {
    const gl = document.createElement("canvas").getContext("webgl2");
    const info = gl && gl.getExtension("WEBGL_debug_renderer_info");
    const name = gl ? String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : "";
    if (gl) gl.getExtension("WEBGL_lose_context")?.loseContext();
    software = /swiftshader|llvmpipe|lavapipe|softpipe|software/i.test(name);
  }
  return software;
}

/** ``ws://…`` as it is, or a path resolved against this page's server (ws:, or wss: on https pages). */
export function websocketUrl(url) {
  if (/^wss?:/.test(url)) return url;
  const base = new URL(url, window.location.href);
  base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  return base.href;
}
