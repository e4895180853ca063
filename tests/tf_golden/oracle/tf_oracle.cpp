// Reference runner for rosync's tf buffer: replays a timeline (tests/tf_golden/README.md) on
// tf2::BufferCore from Debian's libtf2-dev (ROS tf2 0.7) and prints one outcome line per command.
// usage: tf_oracle [--bench] < TIMELINE
// --bench: print nothing per command; after the run print
//          "queries COUNT ok COUNT elapsed_ns NS" (time spent in runs of consecutive queries:
//          lookup, lookup_full, can; parsing and set excluded)
#include <tf2/buffer_core.h>
#include <tf2/exceptions.h>
#include <console_bridge/console.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

enum Kind { SET, LOOKUP, LOOKUP_FULL, CAN, CLEAR };

struct Command {
  Kind kind;
  geometry_msgs::TransformStamped tf;
  bool is_static = false;
  std::string target, source, fixed;
  ros::Time time, source_time;
};

static std::string frame(const std::string& s) { return s == "\"\"" ? std::string() : s; }

static ros::Time at(const std::string& s) {
  ros::Time t;
  t.fromNSec(std::stoull(s));
  return t;
}

// "at time A, but only time B is in the buffer" (a frame with one sample): before it is the past.
static const char* single_sample_direction(const std::string& what) {
  const char* a = std::strstr(what.c_str(), "at time ");
  const char* b = std::strstr(what.c_str(), "only time ");
  if (!a || !b) return "nodata";
  unsigned long long as, an, bs, bn;
  if (std::sscanf(a, "at time %llu.%llu", &as, &an) != 2 || std::sscanf(b, "only time %llu.%llu", &bs, &bn) != 2)
    return "nodata";
  // The message prints times as doubles with 9 decimals, which cannot tell apart stamps a few
  // hundred nanoseconds apart at epoch times: equal printed times are "near".
  if (as == bs && an == bn) return "near";
  return (as < bs || (as == bs && an < bn)) ? "past" : "future";
}

static std::string extrapolation_detail(const std::string& what) {
  if (what.find("into the past") != std::string::npos) return "past";
  if (what.find("into the future") != std::string::npos) return "future";
  if (what.find("only time") != std::string::npos) return single_sample_direction(what);
  return "nodata";
}

static std::string fmt_transform(const geometry_msgs::TransformStamped& t) {
  char buf[512];
  const auto& v = t.transform.translation;
  const auto& q = t.transform.rotation;
  std::snprintf(buf, sizeof buf, "ok %llu %.17g %.17g %.17g %.17g %.17g %.17g %.17g",
                (unsigned long long)t.header.stamp.toNSec(), v.x, v.y, v.z, q.x, q.y, q.z, q.w);
  return buf;
}

static bool g_bench = false;

template <class F>
static std::string lookup(F f, bool* ok) {
  *ok = false;
  try {
    geometry_msgs::TransformStamped t = f();
    *ok = true;
    return g_bench ? std::string() : fmt_transform(t);
  } catch (const tf2::LookupException&) {
    return "error lookup";
  } catch (const tf2::ConnectivityException&) {
    return "error connectivity";
  } catch (const tf2::ExtrapolationException& e) {
    return "error extrapolation " + extrapolation_detail(e.what());
  } catch (const tf2::InvalidArgumentException&) {
    return "error invalid_argument";
  } catch (const tf2::TransformException&) {
    return "error transform";
  }
}

int main(int argc, char** argv) {
  bool bench = argc > 1 && std::string(argv[1]) == "--bench";
  g_bench = bench;
  console_bridge::setLogLevel(console_bridge::CONSOLE_BRIDGE_LOG_NONE);
  ros::Duration cache_time(10.0);
  std::vector<Command> cmds;
  std::string line;
  long lineno = 0;
  while (std::getline(std::cin, line)) {
    ++lineno;
    std::istringstream in(line);
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    if (f.empty() || f[0][0] == '#') continue;
    Command c;
    if (f[0] == "cache_time" && f.size() == 2) {
      cache_time.fromNSec(std::stoll(f[1]));
      continue;
    } else if (f[0] == "set" && f.size() == 12) {
      c.kind = SET;
      c.tf.header.stamp = at(f[1]);
      c.tf.header.frame_id = frame(f[2]);
      c.tf.child_frame_id = frame(f[3]);
      c.tf.transform.translation.x = std::stod(f[4]);
      c.tf.transform.translation.y = std::stod(f[5]);
      c.tf.transform.translation.z = std::stod(f[6]);
      c.tf.transform.rotation.x = std::stod(f[7]);
      c.tf.transform.rotation.y = std::stod(f[8]);
      c.tf.transform.rotation.z = std::stod(f[9]);
      c.tf.transform.rotation.w = std::stod(f[10]);
      c.is_static = f[11] == "static";
    } else if (f[0] == "lookup" && f.size() == 4) {
      c.kind = LOOKUP;
      c.target = frame(f[1]);
      c.source = frame(f[2]);
      c.time = at(f[3]);
    } else if (f[0] == "lookup_full" && f.size() == 6) {
      c.kind = LOOKUP_FULL;
      c.target = frame(f[1]);
      c.time = at(f[2]);
      c.source = frame(f[3]);
      c.source_time = at(f[4]);
      c.fixed = frame(f[5]);
    } else if (f[0] == "can" && f.size() == 4) {
      c.kind = CAN;
      c.target = frame(f[1]);
      c.source = frame(f[2]);
      c.time = at(f[3]);
    } else if (f[0] == "clear" && f.size() == 1) {
      c.kind = CLEAR;
    } else {
      std::cerr << "line " << lineno << ": cannot parse: " << line << "\n";
      return 2;
    }
    cmds.push_back(c);
  }

  tf2::BufferCore buffer(cache_time);
  long queries = 0, oks = 0;
  long long elapsed = 0;
  bool in_block = false;
  std::chrono::steady_clock::time_point started;
  std::string out;
  for (const Command& c : cmds) {
    bool query = c.kind == LOOKUP || c.kind == LOOKUP_FULL || c.kind == CAN;
    if (bench && query && !in_block) {
      in_block = true;
      started = std::chrono::steady_clock::now();
    } else if (bench && !query && in_block) {
      in_block = false;
      elapsed += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count();
    }
    bool ok = false;
    switch (c.kind) {
      case SET:
        out = buffer.setTransform(c.tf, "timeline", c.is_static) ? "stored" : "rejected";
        break;
      case LOOKUP:
        out = lookup([&] { return buffer.lookupTransform(c.target, c.source, c.time); }, &ok);
        break;
      case LOOKUP_FULL:
        out = lookup([&] { return buffer.lookupTransform(c.target, c.time, c.source, c.source_time, c.fixed); }, &ok);
        break;
      case CAN:
        ok = buffer.canTransform(c.target, c.source, c.time);
        out = ok ? "can yes" : "can no";
        break;
      case CLEAR:
        buffer.clear();
        out = "cleared";
        break;
    }
    if (query) {
      ++queries;
      oks += ok;
    }
    if (!bench) std::cout << out << '\n';
  }
  if (in_block)
    elapsed += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count();
  if (bench) std::cout << "queries " << queries << " ok " << oks << " elapsed_ns " << elapsed << '\n';
  return 0;
}
