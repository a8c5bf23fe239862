print("provctl")
