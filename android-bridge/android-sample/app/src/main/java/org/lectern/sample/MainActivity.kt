// The thinnest possible Lectern attendee app: the Rust engine (android-bridge, through its
// generated UniFFI Kotlin) does the meeting; this draws the current page with its ink and
// plays the voice it hands out. Join parameters come from the launching intent's extras.
package org.lectern.sample

import android.app.Activity
import android.content.Context
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.Path
import android.graphics.RectF
import android.media.AudioAttributes
import android.media.AudioFormat
import android.media.AudioTrack
import android.os.Bundle
import android.view.View
import org.json.JSONObject
import uniffi.android_bridge.Attendee
import uniffi.android_bridge.AttendeeConfig
import uniffi.android_bridge.AttendeeListener
import uniffi.android_bridge.Change
import uniffi.android_bridge.TlsMode

class MainActivity : Activity() {
    private var attendee: Attendee? = null
    private var player: Thread? = null
    private lateinit var page: PageView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        page = PageView(this)
        setContentView(page)
        val pin = intent.getStringExtra("pin")
        val config = AttendeeConfig(
            serverUrl = intent.getStringExtra("server") ?: "http://10.0.2.2:8080",
            xmppAddress = intent.getStringExtra("xmpp"),
            meeting = intent.getStringExtra("meeting") ?: "",
            name = intent.getStringExtra("name") ?: "Android",
            cacheDir = cacheDir.absolutePath,
            tls = if (pin != null) TlsMode.PinnedCertificate(pin) else TlsMode.InsecureAcceptAnyCertificate,
        )
        val engine = Attendee(config, object : AttendeeListener {
            override fun onChange(change: Change) {
                runOnUiThread { page.apply(change) }
            }
        })
        attendee = engine
        player = Thread { play(engine) }.apply { start() }
    }

    /** The audio output pulls 20 ms at a time; its own pace is the engine's playout pace. */
    private fun play(engine: Attendee) {
        val rate = engine.sampleRate().toInt()
        val track = AudioTrack.Builder()
            .setAudioAttributes(AudioAttributes.Builder().setUsage(AudioAttributes.USAGE_MEDIA).build())
            .setAudioFormat(
                AudioFormat.Builder().setSampleRate(rate)
                    .setEncoding(AudioFormat.ENCODING_PCM_16BIT)
                    .setChannelMask(AudioFormat.CHANNEL_OUT_MONO).build()
            )
            .setBufferSizeInBytes(rate / 10 * 2)
            .build()
        track.play()
        try {
            while (!Thread.currentThread().isInterrupted) {
                val pcm = engine.pullPcm((rate / 50).toUInt()).toShortArray()
                track.write(pcm, 0, pcm.size) // blocks until there is room: that is the pace
            }
        } finally {
            track.stop()
            track.release()
        }
    }

    override fun onDestroy() {
        player?.interrupt()
        attendee?.close()
        super.onDestroy()
    }
}

/** Draws the current page image and the visible ink items of that page. */
class PageView(context: Context) : View(context) {
    private var state: JSONObject? = null
    private val images = HashMap<Int, Bitmap>()
    private val paint = Paint(Paint.ANTI_ALIAS_FLAG).apply { style = Paint.Style.STROKE; strokeCap = Paint.Cap.ROUND }

    fun apply(change: Change) {
        when (change) {
            is Change.State -> state = JSONObject(change.stateJson)
            is Change.PageReady -> images[change.page.toInt()] = BitmapFactory.decodeFile(change.path)
            else -> return
        }
        invalidate()
    }

    override fun onDraw(canvas: Canvas) {
        canvas.drawColor(Color.DKGRAY)
        val s = state ?: return
        val doc = s.optJSONObject("document") ?: return
        val n = s.getInt("page")
        val size = doc.getJSONArray("sizes").getJSONArray(n - 1)
        val scale = minOf(width / size.getDouble(0), height / size.getDouble(1)).toFloat()
        val box = RectF(0f, 0f, size.getInt(0) * scale, size.getInt(1) * scale)
        images[n]?.let { canvas.drawBitmap(it, null, box, null) }
        val pages = s.getJSONObject("ink").optJSONObject(doc.getString("id")) ?: return
        val items = pages.optJSONObject(n.toString())?.getJSONArray("items") ?: return
        for (i in 0 until items.length()) {
            val item = items.getJSONObject(i)
            if (!item.getBoolean("visible")) continue
            paint.color = Color.parseColor(item.getString("color"))
            if (item.getString("type") == "stroke") {
                paint.strokeWidth = item.getDouble("width").toFloat() * box.width()
                paint.alpha = if (item.getString("tool") == "highlighter") 102 else 255
                val points = item.getJSONArray("points")
                val path = Path()
                for (p in 0 until points.length()) {
                    val xy = points.getJSONArray(p)
                    val x = xy.getDouble(0).toFloat() * box.width()
                    val y = xy.getDouble(1).toFloat() * box.height()
                    if (p == 0) path.moveTo(x, y) else path.lineTo(x, y)
                }
                canvas.drawPath(path, paint)
            }
            // Shapes and texts are drawn the same way from their fields; left out of the sample.
        }
    }
}
