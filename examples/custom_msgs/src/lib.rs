//! The generated `my_robot_msgs` package, from `msgs/my_robot_msgs/*.msg` by `build.rs`.

rosync::include_msgs!();
