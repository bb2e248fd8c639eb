from shop.pricing import calc_total


class Cart:
    def __init__(self):
        self.items = {}

    def add(self, name, price):
        self.items[name] = price

    def total(self, discount=0.0):
        return calc_total(self.items.values(), discount)
