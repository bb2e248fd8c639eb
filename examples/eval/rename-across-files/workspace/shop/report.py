from shop import pricing


def receipt(items):
    lines = [f"{name}: {price:.2f}" for name, price in items.items()]
    lines.append(f"total: {pricing.calc_total(items.values()):.2f}")
    return "\n".join(lines)
