// The demo app's 3D heads (app_viewer.py): one HeadViewer per tab ("text", "image", "speech", "live"), fed by
// the tabs' own outputs, and the Live tab's microphone. Gradio's handlers import this module and call:
//
//   mount(element, kind)              the gr.HTML of a view appeared (the head loads once it is on screen)
//   showExpression(kind, data)        an expression's JSON ({blendshapes, identity?}) → the head
//   playDownloads(kind, files)        the speech tab's downloads → the animation JSON plays with the MP4's sound
//   startLive(prompt, face) / stopLive() / setLivePrompt(prompt) / setFace(kind, face)
//   setLivePhoto(data)                a photo's expression JSON ({blendshapes}) → the live style
//
// `views[kind].viewer` is the HeadViewer (tests read its weights). URLs are relative to the app's root, which is
// two folders above this file (/live/static/app_viewer.js), so the page works under any root path.

import { HeadViewer } from "./head_viewer.js";
import { streamMicrophone } from "./live_microphone.js";

const ROOT = new URL("../../", import.meta.url);
export const views = {};
let live = null; // the Live tab's microphone stream: {stats, setPrompt, setExpression, stop}
let livePhoto = null; // the Live tab photo's weights ({name: weight}), the style while it is set

/** Register the view in ``element``; its head loads when it first becomes visible. */
export function mount(element, kind) {
  const view = views[kind] = {
    canvas: element.querySelector(".expclip-canvas"),
    audio: element.querySelector(".expclip-audio"),
    note: element.querySelector(".expclip-status"),
    viewer: null, face: null, loading: null, failed: false,
  };
  view.status = (sentence) => { view.note.textContent = sentence; };
  new IntersectionObserver((entries, observer) => {
    if (entries.some((e) => e.isIntersecting)) { observer.disconnect(); viewerFor(kind); }
  }).observe(view.canvas);
}

/** The view's HeadViewer with the head of ``face`` loaded (the face it has when ``face`` is null). */
async function ready(kind, face = null) {
  const view = views[kind];
  if (!view) throw new Error(`no 3D view "${kind}" on this page`);
  if (view.failed) throw new Error("no WebGL");
  if (!view.viewer) {
    try {
      view.viewer = new HeadViewer(view.canvas, { status: view.status });
    } catch (error) {
      view.failed = true;
      throw error;
    }
  }
  const wanted = face === null ? (view.face ?? 0) : Number(face) || 0;
  if (view.face !== wanted || !view.loading) {
    view.face = wanted;
    view.status(wanted ? `Loading face ${wanted}…` : "Loading the head…");
    view.loading = view.viewer.load(new URL(`live/head.glb?face=${wanted}`, ROOT).href).then(
      () => view.status("Drag to turn the head, scroll to zoom."),
      (error) => { view.loading = null; throw error; });  // the viewer said why; the next result tries again
  }
  await view.loading;
  return view.viewer;
}

/** ``ready(kind, face)``, or null when the head cannot be shown (the view's status line has said why). */
const viewerFor = (kind, face) => ready(kind, face).catch(() => null);

export async function showExpression(kind, data) {
  if (!data || !data.blendshapes) return;
  const viewer = await viewerFor(kind, data.identity?.seed ?? 0);
  if (!viewer) return;
  viewer.sequence = null;
  viewer.setWeights(data.blendshapes);
}

const named = (file, suffix) => (file.orig_name || file.path || "").toLowerCase().endsWith(suffix);

export async function playDownloads(kind, files) {
  const view = views[kind];
  files = (files || []).filter(Boolean);
  const json = files.filter((f) => named(f, ".json")).sort((a, b) => (a.orig_name < b.orig_name ? -1 : 1))[0];
  const video = files.find((f) => named(f, ".mp4"));
  if (!json) {  // cleared: a new animation is on its way
    if (view && view.viewer) view.viewer.sequence = null;
    if (view && view.audio) view.audio.pause();
    return;
  }
  let clip;
  try {
    clip = await (await fetch(json.url)).json();
  } catch (error) {
    view.status(`The animation could not be fetched for the 3D view (${error.message || error}).`);
    return;
  }
  const viewer = await viewerFor(kind, clip.identity?.seed ?? 0);
  if (!viewer) return;
  const audio = view.audio;
  audio.hidden = !video;
  if (!video) { viewer.play(clip.frames, clip.fps); return; }
  audio.onerror = () => {
    view.status("This browser cannot play the clip's sound; the face plays without it.");
    viewer.play(clip.frames, clip.fps);
  };
  audio.src = video.url;
  viewer.play(clip.frames, clip.fps, audio);
  const shown = files.filter((f) => named(f, ".json")).length;
  view.status(shown > 1 ? `The 3D view plays the first of the ${shown} styles; the video shows them side by side.`
    : "Play, pause and scrub with the sound's controls; drag to turn the head.");
}

export async function startLive(prompt, face) {
  const view = views.live;
  stopLive();
  const viewer = await viewerFor("live", face);
  if (!viewer) return;
  try {
    live = await streamMicrophone(new URL("live/audio", ROOT).href, viewer, { prompt, status: view.status });
  } catch {
    return;  // streamMicrophone said why in the status line
  }
  if (livePhoto) live.setExpression(livePhoto, "the photo");
  view.status("Live: speak and the head follows your voice.");
}

export function stopLive() {
  if (!live) return;
  live.stop();
  live = null;
  views.live.status("Stopped; press Start to go live again.");
}

export function setLivePrompt(prompt) {
  livePhoto = null;
  if (live) live.setPrompt(prompt);
}

/** The Live tab's photo was read: its expression becomes the style (now, or when the stream starts). */
export function setLivePhoto(data) {
  livePhoto = data && data.blendshapes ? data.blendshapes : null;
  if (live && livePhoto) live.setExpression(livePhoto, "the photo");
}

export async function setFace(kind, face) {
  if (views[kind] && views[kind].viewer) await viewerFor(kind, face);
}

/** The live stream's statistics (frames received, sound → face latencies in seconds), or null when not live. */
export function liveStats() {
  return live ? live.stats : null;
}
